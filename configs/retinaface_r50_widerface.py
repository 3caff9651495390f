# Old path, kept for one release: see configs/retinaface/README.md.
_base_ = './retinaface/retinaface_r50_1xb24-100e_widerface.py'
