#!/usr/bin/env python
"""mmdet's ``demo/image_demo.py`` for this project's configs.

The same command line as mmdet 3.3's image demo (the mmdet wheel does not
ship its ``demo/`` folder), run by mmdet's own ``DetInferencer``::

    python demo/image_demo.py photo.jpg \
        configs/retinaface/retinaface_mnet025_1xb32-250e_widerface.py \
        --weights retinaface_mnet025.pth --device cpu --pred-score-thr 0.5
    python demo/image_demo.py photos/ CONFIG --weights CKPT --batch-size 4 \
        --no-save-vis --print-result

Writes ``OUT_DIR/vis/<image name>`` (boxes and the 5 landmarks, drawn by
the config's ``FaceLocalVisualizer``, faces above ``--pred-score-thr``) and,
unless ``--no-save-pred``, ``OUT_DIR/preds/<image name>.json`` with
``bboxes``, ``scores``, ``labels`` and ``keypoints`` (5 ``[x, y]`` per face)
of every detection above the config's test threshold.
"""
import os.path as osp
import sys
from argparse import ArgumentParser

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import mmcv_patches  # noqa: E402,F401  (DetInferencer: loader, keypoints)
import mmdet_faces  # noqa: E402,F401

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from video_demo import run_cli  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description='mmdet image demo (DetInferencer)')
    parser.add_argument('inputs', help='image file or folder')
    parser.add_argument(
        'model', help='config file, or a checkpoint that holds its config')
    parser.add_argument('--weights', default=None, help='checkpoint file')
    parser.add_argument(
        '--out-dir', default='outputs', help='output folder (default outputs)')
    parser.add_argument(
        '--texts',
        default=None,
        help='text prompt (open-vocabulary models only)')
    parser.add_argument(
        '--device',
        default=None,
        help='cpu, cuda:0, ... (default: cuda:0 when '
        'available, else cpu)')
    parser.add_argument(
        '--pred-score-thr',
        type=float,
        default=0.3,
        help='draw detections scoring above this')
    parser.add_argument('--batch-size', type=int, default=1)
    for flag, text in (('--show', 'show each image in a window'),
                       ('--no-save-vis', 'do not write the drawings'),
                       ('--no-save-pred', 'do not write the JSON files'),
                       ('--print-result', 'print the predictions')):
        parser.add_argument(flag, action='store_true', help=text)
    parser.add_argument(
        '--palette',
        default='none',
        choices=['coco', 'voc', 'citys', 'random', 'none'])
    parser.add_argument(
        '--custom-entities',
        '-c',
        action='store_true',
        help='open-vocabulary models only')
    call_args = vars(parser.parse_args(argv))
    if call_args['no_save_vis'] and call_args['no_save_pred']:
        call_args['out_dir'] = ''
    if call_args['model'].endswith('.pth'):
        call_args['weights'], call_args['model'] = call_args['model'], None
    init_args = {
        k: call_args.pop(k)
        for k in ('model', 'weights', 'device', 'palette')
    }
    return init_args, call_args


def main(argv=None) -> dict:
    from contextlib import nullcontext

    from mmdet.apis import DetInferencer

    from mmdet_faces.apis import strict_checkpoint_loading
    init_args, call_args = parse_args(argv)
    weights = init_args['weights']
    with (strict_checkpoint_loading(weights) if weights else nullcontext()):
        inferencer = DetInferencer(**init_args)
    results = inferencer(**call_args)
    if call_args['out_dir']:
        print(f'results have been saved at {call_args["out_dir"]}')
    return results


if __name__ == '__main__':
    sys.exit(run_cli(main, 'image_demo.py'))
