# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Generate the bundled synthetic WIDER FACE data set.

Example::

    .venv/bin/python tools/dataset_converters/gen_synthetic_widerface.py \
        data/widerface [--num-images 600] [--num-val 150] [--seed 0] \
        [--max-size 1024] [--force]

Skips (exit 0) when ``OUT_DIR/.complete`` exists unless ``--force``;
refuses (exit 2, naming what is there) a folder that is not empty and was
not written by the generator, such as a real WIDER Face download, unless
``--force``; bad arguments give a one-line error and exit code 2. The generator
(:mod:`tools.dataset_converters.synthetic.widerface`) needs neither mmdet
nor an installed ``mmdet_faces``.
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from tools.dataset_converters.synthetic import widerface

if __name__ == '__main__':
    sys.exit(widerface.main())
