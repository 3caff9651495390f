from .widerface_eval import *  # noqa: F401,F403
