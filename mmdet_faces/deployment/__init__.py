"""Deployment helpers: ONNX export of the face detectors."""
from .onnx_export import (FaceONNXWrapper, check_onnx_parity, compare_outputs,
                          export_onnx, grid_anchors, onnx_nms, trace_to_onnx)
from .scrfd_onnx import SCRFDInsightFaceWrapper, export_scrfd_insightface

__all__ = [
    'FaceONNXWrapper', 'export_onnx', 'check_onnx_parity', 'grid_anchors',
    'onnx_nms', 'compare_outputs', 'trace_to_onnx', 'SCRFDInsightFaceWrapper',
    'export_scrfd_insightface'
]
