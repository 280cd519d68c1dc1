from .frskd_hook import FRSKDHook

__all__ = ['FRSKDHook']
