# biubug6/Pytorch_Retinaface schedule for ResNet-50 (data/config.py
# cfg_re50, train.py): SGD lr 1e-3, momentum 0.9, weight decay 5e-4,
# 100 epochs, lr x0.1 after epochs 70 and 90, batch 24 at 840 (on 4 GPUs with
# DataParallel, i.e. one batch of 24). No warmup (see retinaface_mnet025.py).
_base_ = ['./retinaface_mnet025.py']

train_cfg = dict(max_epochs=100, val_interval=5)

param_scheduler = [
    dict(_base_.param_scheduler[0], end=100, milestones=[70, 90])
]

auto_scale_lr = dict(enable=False, base_batch_size=24)
