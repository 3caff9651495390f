"""Resize with an interpolation drawn at random per image."""
from typing import Sequence

import numpy as np
from mmdet.datasets.transforms import Resize
from mmdet.registry import TRANSFORMS

#: The reference's ``_resize_subtract_mean`` choices, in its order:
#: INTER_LINEAR, INTER_CUBIC, INTER_AREA, INTER_NEAREST, INTER_LANCZOS4.
REFERENCE_INTERPOLATIONS = ('bilinear', 'bicubic', 'area', 'nearest',
                            'lanczos')


@TRANSFORMS.register_module()
class RandomInterpResize(Resize):
    """mmdet ``Resize`` with the interpolation drawn per call.

    Boxes and landmarks follow through ``gt_bboxes.rescale_`` (and are
    clipped to the image when ``clip_object_border``: boxes only, landmarks
    keep their positions). The chosen method is stored in
    ``results['interpolation']``. Random numbers come from numpy's global
    RNG.

    Args:
        interpolations (Sequence[str]): cv2 methods to draw from (uniform).
            Defaults to the reference's ``REFERENCE_INTERPOLATIONS``.
        **kwargs: ``mmdet.datasets.transforms.Resize`` arguments (``scale``,
            ``scale_factor``, ``keep_ratio``, ``clip_object_border``,
            ``backend``); ``interpolation`` is not accepted.
    """

    def __init__(self,
                 interpolations: Sequence[str] = REFERENCE_INTERPOLATIONS,
                 **kwargs) -> None:
        if 'interpolation' in kwargs:
            raise ValueError('RandomInterpResize draws the interpolation '
                             'from `interpolations`; do not pass '
                             '`interpolation`')
        if not interpolations:
            raise ValueError('interpolations must not be empty')
        super().__init__(interpolation=interpolations[0], **kwargs)
        self.interpolations = tuple(interpolations)

    def transform(self, results: dict) -> dict:
        """Draw the interpolation, record it in ``results`` and resize."""
        self.interpolation = self.interpolations[np.random.randint(
            len(self.interpolations))]
        results['interpolation'] = self.interpolation
        return super().transform(results)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'scale_factor={self.scale_factor}, '
                f'keep_ratio={self.keep_ratio}, '
                f'clip_object_border={self.clip_object_border}, '
                f'backend={self.backend}, '
                f'interpolations={self.interpolations})')


__all__ = ['RandomInterpResize', 'REFERENCE_INTERPOLATIONS']
