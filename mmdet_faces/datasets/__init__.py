from .transforms import *  # noqa: F401,F403
from .wider_face_landmark import *  # noqa: F401,F403
