# Old path, kept for one release: see configs/s3fd/README.md.
_base_ = './s3fd/s3fd_vgg16-w0.125_1xb8-300iter_widerface-synthetic.py'
