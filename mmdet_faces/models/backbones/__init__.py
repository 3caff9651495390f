"""Backbones (``MODELS``)."""
from .mobilenet_v1 import MobileNetV1
from .resnet_v1e import ResNetV1e
from .s3fd_vgg import S3FDVGG

__all__ = ['MobileNetV1', 'ResNetV1e', 'S3FDVGG']
