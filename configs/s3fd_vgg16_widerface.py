# Old path, kept for one release: see configs/s3fd/README.md.
_base_ = './s3fd/s3fd_vgg16_1xb16-200k_widerface.py'
