"""WIDER Face evaluation: the metric (``METRICS``) and the functions it
calls."""
from .functional import (DEFAULT_SIZE_BUCKETS, GT_FILES, THRESH_NUM,
                         WIDERFACE_SETTINGS, WIDERFaceEvalWarning,
                         eval_face_ap, evaluate_widerface, load_widerface_gt,
                         match_predictions, read_widerface_preds,
                         widerface_voc_ap)
from .metrics import WIDERFaceMetric

__all__ = [
    'DEFAULT_SIZE_BUCKETS', 'GT_FILES', 'THRESH_NUM', 'WIDERFACE_SETTINGS',
    'WIDERFaceEvalWarning', 'eval_face_ap', 'evaluate_widerface',
    'load_widerface_gt', 'match_predictions', 'read_widerface_preds',
    'widerface_voc_ap', 'WIDERFaceMetric'
]
