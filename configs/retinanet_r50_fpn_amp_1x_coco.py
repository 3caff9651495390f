# Old path, kept for one release: see configs/retinanet/README.md.
_base_ = './retinanet/retinanet_r50_fpn_8xb2-amp-1x_coco.py'
