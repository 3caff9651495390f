"""Coders (``TASK_UTILS``)."""
from .landmark_coder import LandmarkCoder

__all__ = ['LandmarkCoder']
