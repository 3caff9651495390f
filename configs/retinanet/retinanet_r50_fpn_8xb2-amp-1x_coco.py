# RetinaNet R50-FPN 1x with mixed precision through mmcv_patches'
# MixedPrecisionOptimWrapper: O1 autocast (fp16 on CUDA/NPU, bf16 on CPU),
# dynamic loss scale, NaN/inf steps skipped and logged. See
# configs/retinanet/README.md.
_base_ = './retinanet_r50_fpn_8xb2-1x_coco.py'

optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    opt_level='O1',
    loss_scale='dynamic',
    dtype=None,
    # 'auto': apex Fused* when apex is installed (CUDA/NPU), otherwise
    # torch's fused / foreach implementation of the optimizer.
    fused='auto')
