"""Print the AP table and the picture folder of a `tools/test.py` run.

usage: demo_summary.py TEST_WORK_DIR [--train-seconds S] [--test-seconds S]

Reads the metrics json that mmengine's LoggerHook writes at the end of testing
(``TEST_WORK_DIR/<timestamp>/<timestamp>.json``) and lists the images the
visualization hook drew (``TEST_WORK_DIR/<timestamp>/vis``).
"""
import argparse
import glob
import json
import os.path as osp
import sys


def find_latest_run(work_dir):
    runs = sorted(
        p for p in glob.glob(osp.join(work_dir, '*', '*.json'))
        if osp.basename(osp.dirname(p)) == osp.splitext(osp.basename(p))[0])
    if not runs:
        raise FileNotFoundError(
            f'no <timestamp>/<timestamp>.json metrics file under {work_dir}: '
            'did tools/test.py finish?')
    return runs[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir')
    parser.add_argument('--train-seconds', type=int)
    parser.add_argument('--test-seconds', type=int)
    args = parser.parse_args(argv)
    try:
        metrics_file = find_latest_run(args.work_dir)
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    with open(metrics_file) as f:
        metrics = json.load(f)
    rows = [(k, v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and k not in ('step', 'time',
                                                         'data_time')]
    width = max([len(k) for k, _ in rows] + [10])
    print('=' * (width + 12))
    print(f'{"metric":<{width}}  {"value":>8}')
    print('-' * (width + 12))
    for k, v in rows:
        print(f'{k:<{width}}  {v:8.4f}')
    print('=' * (width + 12))
    if args.train_seconds is not None:
        print(f'training took {args.train_seconds} s, testing '
              f'{args.test_seconds} s')
    vis_dir = osp.join(osp.dirname(metrics_file), 'vis')
    pictures = sorted(
        glob.glob(osp.join(vis_dir, '**', '*.jpg'), recursive=True))
    print(f'metrics: {metrics_file}')
    print(f'pictures ({len(pictures)} with boxes and landmarks): {vis_dir}')
    for p in pictures[:10]:
        print(f'  {p}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
