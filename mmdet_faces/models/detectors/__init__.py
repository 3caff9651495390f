from .retinaface import *  # noqa: F401,F403
from .s3fd import *  # noqa: F401,F403
from .scrfd import *  # noqa: F401,F403
