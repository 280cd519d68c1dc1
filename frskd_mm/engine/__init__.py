from .hooks import FRSKDHook

__all__ = ['FRSKDHook']
