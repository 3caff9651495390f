#!/usr/bin/env python
"""Test a detector: mmdet's stock ``tools/test.py`` with the plugin loaded.

Imports ``mmdet_faces`` and ``mmcv_patches`` and runs
``mmdet/.mim/tools/test.py`` as ``__main__``; all of its flags work
(``CHECKPOINT``, ``--work-dir``, ``--out``, ``--show-dir``, ``--tta``,
``--cfg-options``, ``--launcher``). Distributed: ``tools/dist_test.sh CONFIG
CHECKPOINT GPUS [args]``.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from train import main  # noqa: E402

if __name__ == '__main__':
    main('test.py')
