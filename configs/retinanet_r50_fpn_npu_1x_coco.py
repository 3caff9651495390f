# RetinaNet R50-FPN 1x for Ascend NPUs, as the Ascend port trained it: fp16
# O1 mixed precision with dynamic loss scale through apex when apex (for
# Ascend) is installed - NpuFusedSGD and combine_grad=True - otherwise
# torch_npu autocast with mmcv_patches' loss scaler; hccl communication.
# Launch: tools/dist_train.sh configs/retinanet_r50_fpn_npu_1x_coco.py 8
# (DEVICE_ID_OFFSET=4 to use NPUs 4..7). On a machine without NPUs the same
# config falls back to gloo and bf16 autocast (the way the tests run it).
_base_ = './retinanet_r50_fpn_1x_coco.py'

optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    opt_level='O1',
    loss_scale='dynamic',
    dtype=None,  # fp16 on NPU, bf16 on CPU
    backend='auto',  # apex amp when importable on NPU/CUDA, else torch
    combine_grad=True,  # NPU apex: fuse gradients into one buffer
    fused='auto')  # apex NpuFusedSGD when apex is importable

env_cfg = dict(dist_cfg=dict(backend='hccl'))
