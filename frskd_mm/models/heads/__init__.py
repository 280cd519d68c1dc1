from .frskd_cls_head import FRSKDClsHead

__all__ = ['FRSKDClsHead']
