"""RetinaFace detector."""
from mmdet.models.detectors.single_stage import SingleStageDetector
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

__all__ = ['RetinaFace']


@MODELS.register_module()
class RetinaFace(SingleStageDetector):
    """RetinaFace (biubug6/Pytorch_Retinaface): backbone, ``neck`` (usually
    ``[RetinaFaceFPN, FaceSSH]``, built as an mmengine ``Sequential``) and a
    :class:`RetinaFaceHead`.

    ``predict`` fills ``pred_instances`` with ``bboxes`` (x1y1x2y2),
    ``scores``, ``labels`` (0: face) and ``keypoints`` (N, 5, 2), in
    original image coordinates when ``rescale=True`` (divided by the
    ``scale_factor`` of the test pipeline's resize, as mmdet does for boxes).

    Args:
        backbone (dict): Backbone config.
        neck (dict | list[dict]): Neck config(s).
        bbox_head (dict): Head config.
        train_cfg (dict, optional): Training config (the assigner).
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
