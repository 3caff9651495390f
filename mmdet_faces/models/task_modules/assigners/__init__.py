from .retinaface_assigner import *  # noqa: F401,F403
from .s3fd_assigner import *  # noqa: F401,F403
