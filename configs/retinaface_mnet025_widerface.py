# Old path, kept for one release: see configs/retinaface/README.md.
_base_ = './retinaface/retinaface_mnet025_1xb32-250e_widerface.py'
