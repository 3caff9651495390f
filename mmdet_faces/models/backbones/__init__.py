from .mobilenet_v1 import *  # noqa: F401,F403
from .resnet_v1e import *  # noqa: F401,F403
from .s3fd_vgg import *  # noqa: F401,F403
