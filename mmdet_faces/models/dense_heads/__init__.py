from .retinaface_head import *  # noqa: F401,F403
from .s3fd_head import *  # noqa: F401,F403
from .scrfd_head import *  # noqa: F401,F403
