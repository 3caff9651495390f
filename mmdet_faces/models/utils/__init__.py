from .batched_predict import (batched_rescale_and_nms, image_scale_factors,
                              limit_per_image, multi_image_nms,
                              rescale_to_images, select_candidates,
                              split_by_image, use_batched_predict)
from .face_post_process import (filter_by_score, nms_and_limit, rank_key,
                                ranked_nms, rescale_and_nms, rescale_to_image)

__all__ = [
    'filter_by_score', 'rescale_and_nms', 'rescale_to_image', 'rank_key',
    'ranked_nms', 'nms_and_limit', 'use_batched_predict', 'select_candidates',
    'multi_image_nms', 'split_by_image', 'image_scale_factors',
    'limit_per_image', 'rescale_to_images', 'batched_rescale_and_nms'
]
