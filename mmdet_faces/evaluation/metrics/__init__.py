"""Metrics (``METRICS``)."""
from .widerface_metric import WIDERFaceMetric

__all__ = ['WIDERFaceMetric']
