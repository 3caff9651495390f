#!/usr/bin/env python
"""Train a detector: mmdet's stock ``tools/train.py`` with the plugin loaded.

Imports ``mmdet_faces`` and ``mmcv_patches`` (from this checkout) and then
runs ``mmdet/.mim/tools/train.py`` as ``__main__``, so every mmdet flag
works unchanged: ``--work-dir``, ``--amp``, ``--auto-scale-lr``,
``--resume [CKPT]``, ``--cfg-options``, ``--launcher``. Distributed runs:
``tools/dist_train.sh CONFIG GPUS [args]``. Checkpoints load as weights
only (``mmcv_patches.safe_load``); a refused one is a one-line error, and
so is a checkpoint ``--resume`` cannot use (missing, truncated, damaged; see
``docs/reproducibility.md``).
"""
import os.path as osp
import runpy
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import mmcv_patches
import mmdet_faces


def stock_tool(name: str) -> str:
    """Path (str) of mmdet's stock ``tools/<name>`` shipped in ``.mim``."""
    import mmdet
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} is missing: install mmdet from its wheel/sdist so that '
            'mmdet/.mim/tools is present')
    return path


def main(tool: str = 'train.py') -> None:
    """Run mmdet's ``tools/<tool>`` with the current ``sys.argv``.

    A checkpoint (``CHECKPOINT``, ``load_from``, ``--resume``) that cannot
    be loaded, or that holds code, a metric whose inputs do not fit the
    data (checked before the loop) and a training set of which no image
    can be read end the run with one line naming them and exit code 1.
    """
    script = stock_tool(tool)
    sys.argv[0] = script
    try:
        runpy.run_path(script, run_name='__main__')
    except (mmcv_patches.CheckpointLoadError, mmcv_patches.MetricInputError,
            mmdet_faces.engine.NoReadableImageError) as e:
        print(f'{tool}: error: {e}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main('train.py')
