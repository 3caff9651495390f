"""Necks (``MODELS``)."""
from .face_ssh import FaceSSH, FaceSSHBlock
from .retinaface_fpn import RetinaFaceFPN, reference_act_cfg

__all__ = ['FaceSSH', 'FaceSSHBlock', 'RetinaFaceFPN', 'reference_act_cfg']
