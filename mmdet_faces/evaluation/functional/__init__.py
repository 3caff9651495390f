from .widerface_eval import (DEFAULT_SIZE_BUCKETS, WIDERFACE_SETTINGS,
                             eval_face_ap, evaluate_widerface,
                             load_widerface_gt, read_widerface_preds,
                             widerface_voc_ap)

__all__ = [
    'DEFAULT_SIZE_BUCKETS', 'WIDERFACE_SETTINGS', 'eval_face_ap',
    'evaluate_widerface', 'load_widerface_gt', 'read_widerface_preds',
    'widerface_voc_ap'
]
