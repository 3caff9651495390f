"""WIDER Face evaluation, exact to the published protocol and vectorised:
ground truth (:mod:`.widerface_gt`), prediction files
(:mod:`.widerface_preds`), matching (:mod:`.widerface_matching`) and
precision-recall / AP (:mod:`.widerface_ap`)."""
from .widerface_ap import (DEFAULT_SIZE_BUCKETS, THRESH_NUM, eval_face_ap,
                           evaluate_widerface, widerface_voc_ap)
from .widerface_gt import GT_FILES, WIDERFACE_SETTINGS, load_widerface_gt
from .widerface_matching import match_predictions
from .widerface_preds import WIDERFaceEvalWarning, read_widerface_preds

__all__ = [
    'DEFAULT_SIZE_BUCKETS', 'THRESH_NUM', 'eval_face_ap', 'evaluate_widerface',
    'widerface_voc_ap', 'GT_FILES', 'WIDERFACE_SETTINGS', 'load_widerface_gt',
    'match_predictions', 'WIDERFaceEvalWarning', 'read_widerface_preds'
]
