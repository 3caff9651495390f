# SCRFD-2.5G-KPS on the bundled synthetic WIDER-format data set
# (`make demo-scrfd`): the backbone, neck, keypoints and VGA test of
# scrfd_2.5g_kps_2xb16-640e_widerface.py with 320 crops and a schedule that
# trains from scratch on 2 CPU cores in minutes. Why: docs/scrfd.md.
_base_ = './scrfd_2.5g_kps_2xb16-640e_widerface.py'

# one head for all strides with GN, as the non-KPS SCRFD configs have it
# (the _kps configs train a BN head per stride): in this short schedule
# the stride-32 head alone saw too few whole large faces and scored them
# under the distractors
model = dict(
    bbox_head=dict(
        norm_cfg=dict(
            _delete_=True, type='GN', num_groups=16, requires_grad=True),
        strides_share=True))

train_scale = (320, 320)
max_epochs = 12

# zoom-in crops only, boxes clipped to the crop as the set's labels are to
# the image; the RetinaFace reference distortion
train_pipeline = [
    dict(t, scale=train_scale, clip_object_border=True)
    if t['type'] == 'Resize' else
    dict(t, crop_choice=(0.3, 0.45, 0.6, 0.8,
                         1.0), clip_border=True) if t['type']
    == 'SCRFDRandomSquareCrop' else dict(t, type='FacePhotoMetricDistortion')
    if t['type'] == 'PhotoMetricDistortion' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))

# SGD lr 0.02: the base's linear warmup over 60 iterations, cosine decay
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=0.01, end=60),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.02,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
optim_wrapper = dict(optimizer=dict(lr=0.02), clip_grad=dict(max_norm=10.0))

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None),
    visualization=dict(score_thr=0.5))
visualizer = dict(type='FaceLocalVisualizer')
log_processor = dict(window_size=10)
randomness = dict(seed=0)
