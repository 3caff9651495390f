"""mmdet_faces: face detection as an mmdetection 3.x plugin.

Importing the package registers its components into mmdet's registries, so a
config only needs ``custom_imports=dict(imports=['mmdet_faces'])``.
"""
from importlib.util import find_spec as _find_spec

if _find_spec('mmcv._ext') is None:
    # mmcv-lite: mmcv_patches stands in for the compiled ops first
    import mmcv_patches  # noqa: F401

# the subpackages register their components when imported
from . import datasets  # noqa: F401
from . import engine  # noqa: F401
from . import evaluation  # noqa: F401
from . import models  # noqa: F401
from . import structures  # noqa: F401
from . import visualization  # noqa: F401
from .version import __version__

__all__ = ['__version__']
