# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Generate the bundled synthetic WIDER FACE data set.

Example::

    .venv/bin/python tools/dataset_converters/gen_synthetic_widerface.py \
        data/widerface [--num-images 600] [--num-val 150] [--seed 0] \
        [--max-size 1024] [--force]

Skips (exit 0) when ``OUT_DIR/.complete`` exists unless ``--force``; bad
arguments give a one-line error and exit code 2. The generator module is
imported without its package (``synthetic_utils.load_standalone``), so
neither mmdet nor an installed ``mmdet_faces`` is needed.
"""
import os.path as osp
import runpy
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
UTILS = osp.join(REPO_ROOT, 'mmdet_faces', 'datasets', 'synthetic_utils.py')

if __name__ == '__main__':
    generator = runpy.run_path(UTILS)['load_standalone']('synthetic_widerface')
    sys.exit(generator.main())
