# RetinaNet R50-FPN 1x on COCO (8 GPUs x 2 images): mmdet's stock config,
# unchanged, plus this project's plugin, so that it trains on CPU (gloo
# DDP), CUDA (nccl) and Ascend NPU (hccl). See configs/retinanet/README.md.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(
    imports=['mmdet_faces', 'mmcv_patches'], allow_failed_imports=False)
