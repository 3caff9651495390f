from .face_post_process import filter_by_score, rescale_and_nms

__all__ = ['filter_by_score', 'rescale_and_nms']
