# RetinaNet R50-FPN 1x on COCO: mmdet's stock config, unchanged, plus this
# project's plugin. mmcv_patches makes it train on CPU (gloo DDP), CUDA
# (nccl) and Ascend NPU (hccl) with tools/train.py / tools/dist_train.sh.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(
    imports=['mmdet_faces', 'mmcv_patches'], allow_failed_imports=False)
