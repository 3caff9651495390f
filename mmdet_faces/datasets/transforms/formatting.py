"""Pack face samples: boxes plus landmarks into ``DetDataSample``."""
import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import BaseBoxes, HorizontalBoxes

from mmdet_faces.structures import BBoxKeypoints

NUM_KEYPOINTS = 5


def _split_keypoints(instances) -> None:
    """Replace ``BBoxKeypoints`` bboxes by ``HorizontalBoxes`` and add
    ``keypoints`` / ``keypoints_visible`` float tensors to ``instances``."""
    if 'bboxes' not in instances:
        return
    boxes = instances.bboxes
    num = len(boxes)
    if isinstance(boxes, BBoxKeypoints) and boxes.num_keypoints:
        kpts = boxes.keypoints.float()
        vis = boxes.keypoints_visible.float()
    else:
        ref = boxes.tensor if isinstance(boxes, BaseBoxes) else boxes
        kpts = ref.new_zeros((num, NUM_KEYPOINTS, 2), dtype=torch.float32)
        vis = ref.new_zeros((num, NUM_KEYPOINTS), dtype=torch.float32)
    if isinstance(boxes, BaseBoxes):
        boxes = HorizontalBoxes(boxes.tensor.float(), clone=False)
    instances.bboxes = boxes
    instances.keypoints = kpts
    instances.keypoints_visible = vis


@TRANSFORMS.register_module()
class PackFaceInputs(PackDetInputs):
    """``PackDetInputs`` that also packs the landmarks.

    ``data_sample.gt_instances`` gets ``bboxes`` (plain ``HorizontalBoxes``,
    so mmdet heads work unchanged), ``labels``, ``keypoints`` (N, 5, 2 float)
    and ``keypoints_visible`` (N, 5 float, 1 = labelled); ignored faces go to
    ``data_sample.ignored_instances`` with the same fields. Boxes without
    landmarks (``HorizontalBoxes``) get zero keypoints, all unlabelled.

    Args:
        meta_keys (Sequence[str]): as ``PackDetInputs``.
        contiguous (bool): True (default, as ``PackDetInputs``): ``inputs``
            is a dense C x H x W copy of the image. False: a C x H x W view
            of the H x W x C image, no copy; the data preprocessor's device
            transfer, normalisation and batching make it dense (inference
            saves a CPU transpose per image; see ``FaceDetector``).
    """

    def __init__(self, *args, contiguous: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.contiguous = contiguous

    def transform(self, results: dict) -> dict:
        """Pack as ``PackDetInputs`` does, landmarks into ``gt_instances``.

        Returns:
            dict: ``inputs`` (CHW tensor) and ``data_samples``
            (:obj:`DetDataSample`).
        """
        img = None
        if not self.contiguous and 'img' in results:
            img = results.pop('img')
            if img.ndim < 3:
                img = img[..., None]
        packed = super().transform(results)
        if img is not None:
            results['img'] = img
            packed['inputs'] = torch.from_numpy(
                np.ascontiguousarray(img)).permute(2, 0, 1)
        sample = packed['data_samples']
        if 'gt_bboxes' in results:
            _split_keypoints(sample.gt_instances)
            _split_keypoints(sample.ignored_instances)
        return packed


__all__ = ['PackFaceInputs']
