#!/usr/bin/env python
"""mmdet's ``demo/webcam_demo.py`` for this project's configs.

The same command line as mmdet 3.3's webcam demo (the mmdet wheel does not
ship its ``demo/`` folder); each frame goes through
:class:`video_demo.FrameDetector` (``init_detector``,
``inference_detector``, the config's ``FaceLocalVisualizer``)::

    python demo/webcam_demo.py \
        configs/retinaface/retinaface_mnet025_1xb32-250e_widerface.py \
        retinaface_mnet025.pth --device cpu --camera-id 0

Needs a display (OpenCV with GUI support, not ``opencv-python-headless``).
Esc, q or Q quits; so does the end of the camera stream.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from video_demo import FrameDetector, demo_parser, run_cli  # noqa: E402


def parse_args(argv=None):
    parser = demo_parser('mmdet webcam demo', 0.5)
    parser.add_argument(
        '--camera-id', type=int, default=0, help='camera device id')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    import cv2
    args = parse_args(argv)
    detect = FrameDetector(args.config, args.checkpoint, args.device)
    camera = cv2.VideoCapture(args.camera_id)
    print('Press "Esc", "q" or "Q" to exit.')
    try:
        while True:
            ok, frame = camera.read()
            if not ok:
                break
            _, drawn = detect(frame, args.score_thr)
            cv2.imshow('result', drawn)
            key = cv2.waitKey(1)
            if key == 27 or key == ord('q') or key == ord('Q'):
                break
    finally:
        camera.release()


if __name__ == '__main__':
    sys.exit(run_cli(main, 'webcam_demo.py'))
