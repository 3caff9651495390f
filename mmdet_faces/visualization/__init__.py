"""Visualizers (``VISUALIZERS``)."""
from .face_visualizer import FaceLocalVisualizer

__all__ = ['FaceLocalVisualizer']
