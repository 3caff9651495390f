"""S3FD: single shot scale-invariant face detector."""
from mmdet.models.detectors.single_stage import SingleStageDetector
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

__all__ = ['S3FD']


@MODELS.register_module()
class S3FD(SingleStageDetector):
    """S3FD (Zhang et al., ICCV 2017): ``S3FDVGG`` backbone (six sources),
    no neck, ``S3FDHead``.

    ``pred_instances`` hold ``bboxes`` (x1y1x2y2 in original image
    coordinates), ``scores`` and ``labels`` (0 = face), as RetinaFace's do
    (without ``keypoints``), so the WIDER metric and tools take either.

    Args:
        backbone (dict): Backbone config.
        bbox_head (dict): Head config.
        neck (dict, optional): Neck config (S3FD has none).
        train_cfg (dict, optional): Passed to the head.
        test_cfg (dict, optional): Passed to the head.
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 bbox_head: ConfigType,
                 neck: OptConfigType = None,
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
