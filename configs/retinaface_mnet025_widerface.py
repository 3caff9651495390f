# RetinaFace-MobileNet0.25 on WIDER FACE, the biubug6/Pytorch_Retinaface
# recipe: batch 32 at 640x640, SGD lr 1e-3, 250 epochs, lr x0.1 at 190/220.
#
# Test protocol (as the reference test_widerface.py): each image at its
# original size, batch 1, score > 0.02, NMS 0.4 (+1 area convention), all
# detections kept. To test at the "same as MXNet" scale (short side 1600,
# long side at most 2150), set the test pipeline's ResizeShortSide step:
#   python tools/test.py configs/retinaface_mnet025_widerface.py CKPT \
#     --cfg-options test_dataloader.dataset.pipeline.1.short_side=1600 \
#                   test_dataloader.dataset.pipeline.1.max_long_side=2150
#
# Backbone: the reference starts from mobilenetV1X0.25_pretrain.tar (see
# configs/_base_/models/retinaface_mnet025.py for converting it and setting
# model.backbone.init_cfg); without it the backbone starts from scratch.
#
# Reference weights: convert mobilenet0.25_Final.pth with
#   python tools/model_converters/retinaface_to_mmdet.py \
#     weights/mobilenet0.25_Final.pth checkpoints/retinaface_mnet025_ref.pth
# and test it with tools/test.py CONFIG checkpoints/retinaface_mnet025_ref.pth.
_base_ = [
    './_base_/datasets/widerface.py',
    './_base_/models/retinaface_mnet025.py',
    './_base_/schedules/retinaface_mnet025.py',
    'mmdet::_base_/default_runtime.py',
]

custom_imports = dict(
    imports=['mmdet_faces', 'mmcv_patches'], allow_failed_imports=False)

train_dataloader = dict(batch_size=32)
# batch 1 at test: images keep their own size (no padding to a common one)
val_dataloader = dict(batch_size=1)
test_dataloader = dict(batch_size=1)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook', interval=10, max_keep_ckpts=3,
        save_best='widerface/hard', rule='greater'))
log_processor = dict(window_size=50, by_epoch=True)

# Score boxes as the reference writer of the published numbers does
# (biubug6 test_widerface.py: x = int(x1), w = int(x2) - int(x1)); add
# outfile_prefix='work_dirs/widerface_txt' to keep the txt files for the
# official toolkit.
val_evaluator = dict(box_format='int')
test_evaluator = val_evaluator
