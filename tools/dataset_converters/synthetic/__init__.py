# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Synthetic data sets for the demo and the tests (not part of the runtime).

:func:`generate_widerface` writes a small WIDER FACE set in every format of
the real one, :func:`generate_coco` a tiny COCO-format set for RetinaNet smoke
tests. Both need neither mmdet nor :mod:`mmdet_faces`. Command lines:
``tools/dataset_converters/gen_synthetic_{widerface,coco}.py``; from Python,
with the repository root on ``sys.path``::

    from tools.dataset_converters.synthetic import generate_widerface
"""
from .coco import COCO_CATEGORIES, generate_coco
from .widerface import SETTINGS, WIDER_EVENTS, generate_widerface

__all__ = [
    'generate_widerface', 'WIDER_EVENTS', 'SETTINGS', 'generate_coco',
    'COCO_CATEGORIES'
]
