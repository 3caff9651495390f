"""Deployment helpers: ONNX export of the face detectors."""
from .onnx_export import (FaceONNXWrapper, check_onnx_parity, export_onnx,
                          grid_anchors, onnx_nms)

__all__ = [
    'FaceONNXWrapper', 'export_onnx', 'check_onnx_parity', 'grid_anchors',
    'onnx_nms'
]
