# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Generate the bundled synthetic WIDER FACE data set.

Example::

    .venv/bin/python tools/dataset_converters/gen_synthetic_widerface.py \
        data/widerface [--num-images 600] [--num-val 150] [--seed 0] \
        [--max-size 1024] [--force]

Skips (exit 0) when ``OUT_DIR/.complete`` exists unless ``--force``; bad
arguments give a one-line error and exit code 2. The generator module is
loaded by file path, so neither mmdet nor an installed ``mmdet_faces`` is
needed.
"""
import importlib.util
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODULE = osp.join(REPO_ROOT, 'mmdet_faces', 'datasets',
                  'synthetic_widerface.py')


def _load():
    spec = importlib.util.spec_from_file_location(
        '_mmdet_faces_synthetic_widerface', MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == '__main__':
    sys.exit(_load().main())
