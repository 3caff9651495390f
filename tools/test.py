#!/usr/bin/env python
"""Test a detector: mmdet's stock ``tools/test.py`` with the plugin loaded.

Imports ``mmdet_faces`` and ``mmcv_patches`` and runs
``mmdet/.mim/tools/test.py`` as ``__main__``; all of its flags work
(``CHECKPOINT``, ``--work-dir``, ``--out``, ``--show-dir``, ``--tta``,
``--cfg-options``, ``--launcher``). Distributed: ``tools/dist_test.sh CONFIG
GPUS CHECKPOINT [args]``.
"""
import importlib.util
import os.path as osp

_spec = importlib.util.spec_from_file_location(
    '_mmdet_faces_tools_train',
    osp.join(osp.dirname(osp.abspath(__file__)), 'train.py'))
_train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_train)

if __name__ == '__main__':
    _train.main('test.py')
