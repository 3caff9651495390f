"""Landmark (keypoint) offset coder of RetinaFace."""
from typing import Union

from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import BaseBoxes, get_box_tensor
from torch import Tensor

__all__ = ['LandmarkCoder']


@TASK_UTILS.register_module()
class LandmarkCoder:
    """Encode points as offsets from the anchor centre in units of
    ``std * anchor size``.

    ``delta_k = (p_k - c) / (std * wh)`` for every point ``p_k``, laid out as
    ``x1, y1, x2, y2, ..., xK, yK`` (the reference ``encode_landm`` /
    ``decode_landm`` with variance 0.1).

    Args:
        num_points (int): Points per object. Defaults to 5.
        std (float): The reference ``variance[0]``. Defaults to 0.1.
    """

    def __init__(self, num_points: int = 5, std: float = 0.1) -> None:
        self.num_points = num_points
        self.std = std
        self.encode_size = 2 * num_points

    @staticmethod
    def _centre_size(bboxes: Union[Tensor, BaseBoxes]):
        bboxes = get_box_tensor(bboxes)
        ctr = (bboxes[..., :2] + bboxes[..., 2:]) * 0.5
        wh = bboxes[..., 2:] - bboxes[..., :2]
        return ctr, wh

    def encode(self, bboxes: Union[Tensor, BaseBoxes],
               points: Tensor) -> Tensor:
        """Encode points.

        Args:
            bboxes (Tensor | BaseBoxes): Anchors, (..., 4) x1y1x2y2.
            points (Tensor): Points, (..., K, 2).

        Returns:
            Tensor: Offsets, (..., 2K).
        """
        ctr, wh = self._centre_size(bboxes)
        deltas = (points - ctr.unsqueeze(-2)) / (self.std * wh).unsqueeze(-2)
        return deltas.flatten(-2)

    def decode(self, bboxes: Union[Tensor, BaseBoxes],
               deltas: Tensor) -> Tensor:
        """Decode offsets.

        Args:
            bboxes (Tensor | BaseBoxes): Anchors, (..., 4) x1y1x2y2.
            deltas (Tensor): Offsets, (..., 2K).

        Returns:
            Tensor: Points, (..., K, 2).
        """
        ctr, wh = self._centre_size(bboxes)
        deltas = deltas.unflatten(-1, (-1, 2))
        return ctr.unsqueeze(-2) + deltas * (self.std * wh).unsqueeze(-2)
