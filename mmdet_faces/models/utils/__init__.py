from .face_post_process import (filter_by_score, rescale_and_nms,
                                rescale_to_image)

__all__ = ['filter_by_score', 'rescale_and_nms', 'rescale_to_image']
