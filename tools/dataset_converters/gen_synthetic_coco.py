# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Generate a tiny synthetic COCO-format set for RetinaNet smoke tests.

Example::

    .venv/bin/python tools/dataset_converters/gen_synthetic_coco.py \
        data/coco_synthetic [--num-images 40] [--num-val 10] [--seed 0] \
        [--max-size 320] [--force]

Writes ``annotations/instances_{train,val}2017.json`` and
``{train,val}2017/*.jpg`` (use the folder as ``data_root`` of a stock mmdet
COCO config). Skips (exit 0) when ``OUT_DIR/.complete`` exists unless
``--force``; bad arguments give a one-line error and exit code 2.
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from tools.dataset_converters.synthetic import coco

if __name__ == '__main__':
    sys.exit(coco.main())
