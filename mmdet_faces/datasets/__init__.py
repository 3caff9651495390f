from .wider_face_landmark import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403
from .widerface_io import *  # noqa: F401,F403
