# What the RetinaFace WIDER FACE configs share besides the model and the
# schedule: the data, the runtime, the checkpoints and the box scoring.
_base_ = ['./datasets/widerface.py', './default_runtime.py']

# keep the checkpoint of the best hard-set AP; each config sets `interval`
# to its validation interval
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        max_keep_ckpts=3,
        save_best='widerface/hard',
        rule='greater'))

# Score boxes as the reference writer of the published numbers does
# (biubug6 test_widerface.py: x = int(x1), w = int(x2) - int(x1)); add
# outfile_prefix='work_dirs/widerface_txt' to keep the txt files for the
# official toolkit.
val_evaluator = dict(box_format='int')
test_evaluator = val_evaluator
