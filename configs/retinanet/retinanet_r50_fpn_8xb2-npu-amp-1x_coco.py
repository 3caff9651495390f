# RetinaNet R50-FPN 1x for Ascend NPUs, as the Ascend port trained it: fp16
# O1 mixed precision with dynamic loss scale (apex for Ascend when installed,
# else torch_npu autocast), hccl; on a machine without NPUs it falls back to
# gloo and bf16. Launch with `tools/dist_train.sh CONFIG 8`; see
# configs/retinanet/README.md.
_base_ = './retinanet_r50_fpn_8xb2-1x_coco.py'

optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    opt_level='O1',
    loss_scale='dynamic',
    dtype=None,  # fp16 on NPU, bf16 on CPU
    backend='auto',  # apex amp when importable on NPU/CUDA, else torch
    combine_grad=True,  # NPU apex: fuse gradients into one buffer
    fused='auto')  # apex NpuFusedSGD when apex is importable

env_cfg = dict(dist_cfg=dict(backend='hccl'))
