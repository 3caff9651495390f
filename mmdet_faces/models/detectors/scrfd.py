"""SCRFD detector."""
from mmdet.models.detectors.single_stage import SingleStageDetector
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

__all__ = ['SCRFD']


@MODELS.register_module()
class SCRFD(SingleStageDetector):
    """SCRFD (insightface ``detection/scrfd``): a ``ResNetV1e`` or searched
    ``MobileNetV1`` backbone, mmdet's ``PAFPN`` and a :class:`SCRFDHead`.

    ``predict`` fills ``pred_instances`` with ``bboxes`` (x1y1x2y2),
    ``scores``, ``labels`` (0: face) and, for the keypoint (``_KPS``)
    models, ``keypoints`` (N, 5, 2), in original image coordinates when
    ``rescale=True``.

    Args:
        backbone (dict): Backbone config.
        neck (dict): Neck config.
        bbox_head (dict): Head config.
        train_cfg (dict, optional): Training config (assigner, ...).
        test_cfg (dict, optional): Testing config (score_thr, nms, ...).
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 bbox_head: ConfigType,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            bbox_head=bbox_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
