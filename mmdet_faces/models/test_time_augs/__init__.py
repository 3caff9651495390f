from .s3fd_tta import *  # noqa: F401,F403
