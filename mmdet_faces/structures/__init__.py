from .bbox_keypoints import *  # noqa: F401,F403
