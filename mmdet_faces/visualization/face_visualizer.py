"""Detection visualizer that also draws 5-point face landmarks."""
import logging
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmdet.registry import VISUALIZERS
from mmdet.visualization import DetLocalVisualizer
from mmengine.logging import print_log
from mmengine.structures import InstanceData

from mmdet_faces.utils import passed_power_of_ten

__all__ = ['FaceLocalVisualizer']

# left eye, right eye, nose, left mouth corner, right mouth corner
# (BGR-free RGB tuples)
DEFAULT_KEYPOINT_COLORS = [(0, 0, 255), (0, 255, 255), (255, 0, 255),
                           (0, 255, 0), (255, 128, 0)]


@VISUALIZERS.register_module()
class FaceLocalVisualizer(DetLocalVisualizer):
    """:class:`DetLocalVisualizer` that draws landmarks with the boxes.

    Instances with a ``keypoints`` field (N, K, 2) get one dot per point, each
    point index in its own colour; ``keypoints_visible`` (N, K), when present,
    hides unlabelled points (ground truth faces without landmarks). A box
    with x2 < x1 or y2 < y1 (a random or untrained distance-coded head
    predicts negative distances: SCRFD's decoder, like insightface's, does
    not order the corners) is not drawn, with a counted warning
    (:attr:`num_inverted`); mmengine would stop at an assertion.

    Args:
        keypoint_colors (Sequence[tuple]): RGB colour per point index.
        keypoint_radius (int): Dot radius in pixels. Defaults to 2.
        draw_labels (bool): Draw the ``face: 0.98`` text over each box.
            Crowded face images read better without. Defaults to False.
        **kwargs: Passed to :class:`DetLocalVisualizer`.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 keypoint_colors: Sequence[Tuple[int, int, int]] = tuple(
                     DEFAULT_KEYPOINT_COLORS),
                 keypoint_radius: int = 2,
                 draw_labels: bool = False,
                 **kwargs):
        kwargs.setdefault('bbox_color', (0, 255, 0))
        kwargs.setdefault('line_width', 2)
        super().__init__(name=name, **kwargs)
        self.keypoint_colors = [tuple(c) for c in keypoint_colors]
        self.keypoint_radius = keypoint_radius
        self.draw_labels = draw_labels
        self.num_inverted = 0

    def _draw_instances(self, image: np.ndarray, instances: InstanceData,
                        classes: Optional[List[str]],
                        palette: Optional[List[tuple]]) -> np.ndarray:
        """Draw boxes (mmdet) and then landmarks of ``instances``.

        Boxes are clipped to the image and points outside it are hidden:
        mmengine widens the canvas for anything drawn out of bounds.
        Inverted boxes are left out (:meth:`_drop_inverted`).
        """
        instances = self._clip_to_image(
            self._drop_inverted(instances), image.shape[:2])
        if not self.draw_labels and 'labels' in instances:
            # mmdet draws text for every labelled box; drop labels to skip it.
            instances = instances.clone()
            del instances.labels
            self.set_image(image)
            if 'bboxes' in instances and len(instances) > 0:
                bboxes = instances.bboxes
                if not isinstance(bboxes, torch.Tensor):
                    bboxes = bboxes.tensor
                self.draw_bboxes(
                    bboxes,
                    edge_colors=self.bbox_color,
                    alpha=self.alpha,
                    line_widths=self.line_width)
            image = self.get_image()
        else:
            image = super()._draw_instances(image, instances, classes, palette)
        if 'keypoints' not in instances or len(instances) == 0:
            return image
        return self.draw_keypoints(image, instances.keypoints,
                                   instances.get('keypoints_visible', None))

    def _drop_inverted(self, instances: InstanceData) -> InstanceData:
        """``instances`` without the boxes whose x2 < x1 or y2 < y1, counted
        in :attr:`num_inverted` and logged at the 1st, 10th, 100th ..."""
        if len(instances) == 0 or 'bboxes' not in instances:
            return instances
        boxes = instances.bboxes
        if not isinstance(boxes, torch.Tensor):
            boxes = boxes.tensor
        inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
        num = int(inverted.sum())
        if not num:
            return instances
        before, self.num_inverted = (self.num_inverted,
                                     self.num_inverted + num)
        if passed_power_of_ten(before, self.num_inverted):
            print_log(
                f'{type(self).__name__}: {self.num_inverted} boxes not drawn '
                f'so far: x2 < x1 or y2 < y1 ({num} of {len(boxes)} in this '
                'image; a random or untrained model predicts such boxes)',
                logger='current',
                level=logging.WARNING)
        return instances[~inverted.to(boxes.device)]

    @staticmethod
    def _clip_to_image(instances: InstanceData,
                       hw: Tuple[int, int]) -> InstanceData:
        """Copy of ``instances`` with boxes clipped to ``hw`` and points
        outside it marked invisible."""
        if len(instances) == 0 or ('bboxes' not in instances
                                   and 'keypoints' not in instances):
            return instances
        h, w = hw
        instances = instances.clone()
        if 'bboxes' in instances:
            boxes = instances.bboxes
            if not isinstance(boxes, torch.Tensor):
                boxes = boxes.tensor
            boxes = boxes.clone()
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w - 1)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h - 1)
            instances.bboxes = boxes
        if 'keypoints' in instances:
            kpts = torch.as_tensor(instances.keypoints).float()
            inside = ((kpts[..., 0] >= 0) & (kpts[..., 0] <= w - 1) &
                      (kpts[..., 1] >= 0) & (kpts[..., 1] <= h - 1))
            if 'keypoints_visible' in instances:
                inside &= torch.as_tensor(instances.keypoints_visible).reshape(
                    inside.shape) > 0
            instances.keypoints_visible = inside.float()
        return instances

    def draw_keypoints(
        self,
        image: np.ndarray,
        keypoints: Union[np.ndarray, torch.Tensor],
        visible: Optional[Union[np.ndarray,
                                torch.Tensor]] = None) -> np.ndarray:
        """Draw (N, K, 2) ``keypoints`` on ``image``, one colour per index.

        Args:
            image (np.ndarray): RGB image (H, W, 3).
            keypoints (np.ndarray | Tensor): Points, (N, K, 2).
            visible (np.ndarray | Tensor, optional): (N, K), > 0 = draw.

        Returns:
            np.ndarray: The image with the points drawn.
        """
        kpts = torch.as_tensor(keypoints).detach().cpu().float()
        if kpts.numel() == 0:
            return image
        kpts = kpts.reshape(kpts.shape[0], -1, 2)
        mask = torch.ones(kpts.shape[:2], dtype=torch.bool)
        if visible is not None:
            mask = torch.as_tensor(visible).detach().cpu().reshape(
                mask.shape) > 0
        self.set_image(image)
        for k in range(kpts.shape[1]):
            pts = kpts[mask[:, k], k]
            if len(pts) == 0:
                continue
            color = self.keypoint_colors[k % len(self.keypoint_colors)]
            self.draw_circles(
                pts,
                radius=torch.full((len(pts), ), float(self.keypoint_radius)),
                edge_colors=color,
                face_colors=color,
                alpha=1.0,
                line_widths=1)
        return self.get_image()
