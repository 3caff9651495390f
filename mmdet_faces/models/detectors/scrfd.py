"""SCRFD detector."""
from mmdet.models.detectors.single_stage import SingleStageDetector
from mmdet.registry import MODELS

__all__ = ['SCRFD']


@MODELS.register_module()
class SCRFD(SingleStageDetector):
    """SCRFD (insightface ``detection/scrfd``): a ``ResNetV1e`` or searched
    ``MobileNetV1`` backbone, mmdet's ``PAFPN`` and a :class:`SCRFDHead`;
    mmdet's single-stage detector with its arguments (``backbone``,
    ``neck``, ``bbox_head``, ``train_cfg``, ``test_cfg``,
    ``data_preprocessor``, ``init_cfg``).

    ``predict`` fills ``pred_instances`` with ``bboxes`` (x1y1x2y2),
    ``scores``, ``labels`` (0: face) and, for the keypoint (``_KPS``)
    models, ``keypoints`` (N, 5, 2), in original image coordinates when
    ``rescale=True``.
    """
