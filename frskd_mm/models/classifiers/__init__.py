from .sla_image_classifier import SLAImageClassifier

__all__ = ['SLAImageClassifier']
