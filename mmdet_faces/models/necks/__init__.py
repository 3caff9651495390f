from .face_ssh import *  # noqa: F401,F403
from .retinaface_fpn import *  # noqa: F401,F403
