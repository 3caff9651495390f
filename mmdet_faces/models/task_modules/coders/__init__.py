from .landmark_coder import *  # noqa: F401,F403
