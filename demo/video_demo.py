#!/usr/bin/env python
"""mmdet's ``demo/video_demo.py`` for this project's configs.

The same command line as mmdet 3.3's video demo (the mmdet wheel does not
ship its ``demo/`` folder) and the same calls: ``init_detector``,
``inference_detector`` on each frame with the config's test pipeline (first
step ``mmdet.LoadImageFromNDArray``), the config's visualizer
(``FaceLocalVisualizer``: boxes and the 5 landmarks)::

    python demo/video_demo.py clip.mp4 \
        configs/retinaface/retinaface_mnet025_1xb32-250e_widerface.py \
        retinaface_mnet025.pth --device cpu --score-thr 0.5 --out clip_det.mp4

Unlike mmdet 3.3's, it runs with mmengine 0.10 (whose progress bar takes
no ``VideoReader``), frames are drawn in their own colours (mmdet's passes
the BGR frame as RGB) and ``--device`` defaults to ``cuda:0`` only where
CUDA is available.
"""
import os.path as osp
import sys
from argparse import ArgumentParser
from typing import Tuple

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import mmcv_patches  # noqa: E402,F401
import mmdet_faces  # noqa: E402,F401


def default_device() -> str:
    import torch
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def demo_parser(description: str, score_thr: float,
                inputs: tuple = ()) -> ArgumentParser:
    """The arguments of mmdet's video and webcam demos: ``inputs``
    (``(name, help)`` pairs) before the config and checkpoint, then
    ``--device`` and ``--score-thr`` (default ``score_thr``)."""
    parser = ArgumentParser(description=description)
    for name, text in inputs + (('config', 'config file'),
                                ('checkpoint', 'checkpoint file')):
        parser.add_argument(name, help=text)
    parser.add_argument(
        '--device',
        default=None,
        help='cpu, cuda:0, ... (default: cuda:0 when '
        'available, else cpu)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=score_thr,
        help='draw detections scoring above this')
    return parser


def parse_args(argv=None):
    parser = demo_parser('mmdet video demo', 0.3, (('video', 'video file'), ))
    parser.add_argument('--out', type=str, help='output video file')
    parser.add_argument('--show', action='store_true', help='show video')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=1,
        help='the interval of show (s), 0 is block')
    return parser.parse_args(argv)


class FrameDetector:
    """What mmdet's video and webcam demos do for one frame: the model of
    ``init_detector``, the test pipeline from arrays, the config's
    visualizer.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file.
        device (str, optional): Device; None: :func:`default_device`.
    """

    def __init__(self, config: str, checkpoint: str, device=None) -> None:
        from mmcv.transforms import Compose
        from mmdet.apis import init_detector
        from mmdet.registry import VISUALIZERS

        from mmdet_faces.apis import strict_checkpoint_loading
        with strict_checkpoint_loading(checkpoint):
            self.model = init_detector(
                config, checkpoint, device=device or default_device())
        pipeline = self.model.cfg.test_dataloader.dataset.pipeline
        pipeline[0].type = 'mmdet.LoadImageFromNDArray'
        self.pipeline = Compose(pipeline)
        self.visualizer = VISUALIZERS.build(self.model.cfg.visualizer)
        self.visualizer.dataset_meta = self.model.dataset_meta

    def __call__(self, frame: np.ndarray, score_thr: float) -> Tuple:
        """Detect in a BGR ``frame``; returns the ``DetDataSample`` and the
        BGR drawing (detections above ``score_thr``)."""
        import mmcv
        from mmdet.apis import inference_detector
        result = inference_detector(
            self.model, frame, test_pipeline=self.pipeline)
        self.visualizer.add_datasample(
            name='video',
            image=mmcv.bgr2rgb(frame),
            data_sample=result,
            draw_gt=False,
            show=False,
            pred_score_thr=score_thr)
        return result, mmcv.rgb2bgr(self.visualizer.get_image())


def run_cli(main, prog: str, argv=None) -> int:
    """``main(argv)`` as the command ``prog``: a missing file or a refused
    checkpoint (unsafe, not a checkpoint, or not fitting the config) is one
    line on stderr and exit code 2, no traceback."""
    try:
        main(argv)
    except (ValueError, FileNotFoundError) as e:
        print(f'{prog}: error: {e}', file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> None:
    import cv2
    import mmcv
    from mmengine.utils import track_iter_progress
    args = parse_args(argv)
    if not (args.out or args.show):
        raise SystemExit('video_demo.py: give --out FILE and/or --show')
    detect = FrameDetector(args.config, args.checkpoint, args.device)
    reader = mmcv.VideoReader(args.video)
    writer = None
    if args.out:
        writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*'mp4v'),
                                 reader.fps, (reader.width, reader.height))
    try:
        # (frames, count): mmengine's tracker takes no VideoReader itself
        for frame in track_iter_progress((reader, len(reader))):
            _, drawn = detect(frame, args.score_thr)
            if args.show:
                cv2.namedWindow('video', 0)
                mmcv.imshow(drawn, 'video', args.wait_time)
            if writer is not None:
                writer.write(drawn)
    finally:
        if writer is not None:
            writer.release()
    if args.show:
        cv2.destroyAllWindows()


if __name__ == '__main__':
    sys.exit(run_cli(main, 'video_demo.py'))
