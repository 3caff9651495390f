from .l2norm import *  # noqa: F401,F403
