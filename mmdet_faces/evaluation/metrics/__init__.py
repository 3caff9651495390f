from .widerface_metric import *  # noqa: F401,F403
