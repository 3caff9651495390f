#!/usr/bin/env python
"""Speed of RetinaFace-MobileNet0.25, RetinaFace-R50, S3FD and SCRFD-500M /
2.5G / 10G: training images/s and inference latency / throughput. A
benchmark, not a test.

Example::

    # CPU, small default iteration counts
    python tools/analysis_tools/benchmark_speed.py
    # GPU, AMP and channels-last
    python tools/analysis_tools/benchmark_speed.py --device cuda --amp \
        --channels-last --out-json work_dirs/bench_gpu.json

Measured, per model:

* inference at VGA (640x480) and at the model's train size (640x640,
  RetinaFace-R50 840x840), through :class:`mmdet_faces.apis.FaceDetector`
  on a BGR uint8 image already in memory:

  - ``e2e b1``: latency of one image, end to end: test pipeline,
    data preprocessor, network, decoding, score threshold, NMS, results
    as numpy boxes / scores / landmarks;
  - ``net b1``: latency of the network alone on the input ``e2e b1``
    feeds it (backbone + neck + head convolutions, no decoding; SCRFD's
    test pipeline pads VGA to 640x640, as insightface's runtime does);
  - ``e2e bN``: images/s of ``--batch`` images per call, end to end;

  each as the median (and best) of at least ``--iters`` timed calls after
  ``--warmup`` ones, repeated until ``--min-time`` seconds passed (the best
  is the steadier number on a machine shared with other jobs);

* training images/s at the train size: ``model.train_step`` (forward,
  loss, backward, optimizer step) fed by the config's real train pipeline
  and data loader (``--train-data real``: images decoded, cropped, distorted,
  flipped, resized in ``--workers`` processes) on the bundled data set
  (``data/widerface``; generated into a temporary folder when absent), or
  one such batch reused (``--train-data cached``: no data-loading cost).

Weights are random unless ``--checkpoint NAME=PATH`` is given; the face
biases of a random model are shifted so that, on the VGA test image, 1 % of
each level's anchors score above the test threshold (0.02 RetinaFace, 0.05
S3FD), as with a trained model (tens to hundreds of candidates into NMS,
not every anchor at ~0.5); the ``dets/img`` column gives the detections per
image after NMS. Prints the hardware (CPU model, cores, GPU) and software
versions with a markdown table (``--out-json`` also saves everything).
"""
import argparse
import math
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
import warnings
from typing import Dict, List

import cv2
import mmengine
import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
for _path in (REPO_ROOT, osp.dirname(osp.abspath(__file__))):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# the training-step helpers of the distributed benchmark, shared
from benchmark_dist_train import synchronize, train_steps_only  # noqa: E402

MODELS = {
    'mnet025':
    ('RetinaFace-MobileNet0.25',
     'configs/retinaface/retinaface_mnet025_1xb32-250e_widerface.py'),
    'r50': ('RetinaFace-R50',
            'configs/retinaface/retinaface_r50_1xb24-100e_widerface.py'),
    's3fd': ('S3FD-VGG16', 'configs/s3fd/s3fd_vgg16_1xb16-200k_widerface.py'),
    'scrfd_500m':
    ('SCRFD-500M', 'configs/scrfd/scrfd_500m_4xb8-640e_widerface.py'),
    'scrfd_2.5g':
    ('SCRFD-2.5G', 'configs/scrfd/scrfd_2.5g_4xb8-640e_widerface.py'),
    'scrfd_10g':
    ('SCRFD-10G', 'configs/scrfd/scrfd_10g_4xb8-640e_widerface.py'),
}
VGA = (480, 640)  # (h, w)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Training / inference speed of the face detectors')
    parser.add_argument(
        '--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        '--device',
        default=None,
        help='cpu | cuda | cuda:N (default: cuda if '
        'available)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='float16 autocast (CUDA; bfloat16 on CPU) for '
        'inference and MixedPrecisionOptimWrapper training')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='channels-last model and inputs')
    parser.add_argument(
        '--sizes',
        nargs='+',
        default=['vga', 'train'],
        choices=['vga', 'train'],
        help='inference input sizes')
    parser.add_argument(
        '--batch',
        type=int,
        default=None,
        help='throughput batch (default CPU 4, GPU 32)')
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='timed inference calls (default CPU 3, GPU 50)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=None,
        help='untimed calls first (default CPU 1, GPU 10)')
    parser.add_argument(
        '--min-time',
        type=float,
        default=3.,
        help='repeat a timing until it took this many '
        'seconds (up to 20 x --iters calls; default 3)')
    parser.add_argument(
        '--train-iters',
        type=int,
        default=None,
        help='timed train steps (default CPU 2, GPU 20)')
    parser.add_argument(
        '--train-batch',
        type=int,
        default=None,
        help="train batch (default CPU 2, GPU: the "
        "config's)")
    parser.add_argument(
        '--train-scale',
        type=int,
        nargs=2,
        default=None,
        metavar=('W', 'H'),
        help="train size (default: the config's); small "
        'for a quick CPU run')
    parser.add_argument(
        '--train-data',
        choices=['real', 'cached'],
        default='real',
        help='real data loader, or one batch reused')
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help="data loader workers (default: the config's, "
        'at most the CPU count)')
    parser.add_argument(
        '--data-root',
        default='data/widerface',
        help='WIDER-format data set for training')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch\'s); 1 is '
        'steadier on a CPU shared with other jobs')
    parser.add_argument('--no-train', action='store_true')
    parser.add_argument('--no-infer', action='store_true')
    parser.add_argument(
        '--checkpoint',
        nargs='+',
        default=[],
        metavar='NAME=PATH',
        help='weights per model')
    parser.add_argument('--out-json', help='also write the results here')
    args = parser.parse_args(argv)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    gpu = args.device.startswith('cuda')
    defaults = dict(
        batch=(4, 32), iters=(3, 50), warmup=(1, 10), train_iters=(2, 20))
    for key, (cpu_v, gpu_v) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, gpu_v if gpu else cpu_v)
    if args.train_batch is None and not gpu:
        args.train_batch = 2
    args.checkpoints = dict(c.split('=', 1) for c in args.checkpoint)
    return args


# ------------------------------------------------------------ environment
def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str) -> Dict[str, str]:
    """Hardware and software of this run."""
    import mmcv
    import mmdet

    import mmdet_faces
    env = dict(
        cpu=cpu_model(),
        cpu_cores=str(os.cpu_count()),
        torch_threads=str(torch.get_num_threads()),
        python=platform.python_version(),
        torch=torch.__version__,
        mmcv=mmcv.__version__,
        mmengine=mmengine.__version__,
        mmdet=mmdet.__version__,
        mmdet_faces=mmdet_faces.__version__,
        opencv=cv2.__version__)
    if device.startswith('cuda'):
        env.update(
            gpu=torch.cuda.get_device_name(torch.device(device)),
            cuda=str(torch.version.cuda),
            cudnn=str(torch.backends.cudnn.version()))
    return env


def _timeit(fn,
            iters: int,
            warmup: int,
            device: torch.device,
            min_time: float = 0.) -> Dict[str, float]:
    """Seconds of ``fn()``: ``median`` and ``best`` of at least ``iters``
    calls, more (up to ``20 * iters``) until ``min_time`` seconds passed."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: List[float] = []
    total = 0.
    while len(times) < iters or (total < min_time and len(times) < 20 * iters):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
        total += times[-1]
    return dict(median=statistics.median(times), best=min(times), n=len(times))


# -------------------------------------------------------------- inference
def calibrate_scores_(det, img: np.ndarray, frac: float = 0.01) -> None:
    """Shift the face biases of a random model's classification convs so
    that on ``img`` the top ``frac`` of each level's anchors score above
    the test threshold -- a trained model's picture (a few hundred
    candidates for NMS), not a random one's (all anchors near 0.5, all into
    NMS). The convs get N(0, 0.3) weights first so that the scores vary
    between anchors; a level whose features do not vary gets none."""
    model, head = det.model, det.model.bbox_head
    thr = float(det.cfg.model.test_cfg.get('score_thr', 0.02))
    data = model.data_preprocessor(
        {
            'inputs': [torch.from_numpy(img).permute(2, 0, 1)],
            'data_samples': None
        }, False)
    target = math.log(thr / (1 - thr))
    gen = torch.Generator().manual_seed(0)
    if hasattr(head, 'conv_cls'):
        _calibrate_sigmoid_(head, model.extract_feat(data['inputs']), target,
                            frac, gen)
        return
    with torch.no_grad():
        for conv in head.cls_convs:  # scores that vary between anchors
            conv.weight.copy_(
                torch.randn(conv.weight.shape, generator=gen) * 0.3)
        cls_scores = head(model.extract_feat(data['inputs']))[0]
        for conv, cls in zip(head.cls_convs, cls_scores):
            # (1, A * 2, H, W): [background, face] per anchor (S3FD's
            # max-out already reduced to one background channel)
            pairs = cls.float().reshape(cls.shape[0], -1, 2, *cls.shape[2:])
            diff = (pairs[:, :, 1] - pairs[:, :, 0]).transpose(0, 1)
            shift = target - 1e-3 - torch.quantile(
                diff.reshape(diff.shape[0], -1), 1 - frac, dim=1)
            if hasattr(head, 'landmark_coder'):
                conv.bias.view(-1, 2)[:, 1] += shift.to(conv.bias)
            else:
                conv.bias[-1] += shift[0].to(conv.bias)


@torch.no_grad()
def _calibrate_sigmoid_(head, feats, target: float, frac: float,
                        gen: torch.Generator) -> None:
    """:func:`calibrate_scores_` for SCRFD (one sigmoid logit per anchor;
    a conv shared by all levels gets one shift for all of them)."""
    for conv in head.conv_cls:
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * 0.3)
    logits = [c.float().reshape(-1) for c in head(feats)[0]]
    groups = [logits] if head.strides_share else [[x] for x in logits]
    for conv, group in zip(head.conv_cls, groups):
        conv.bias += target - 1e-3 - torch.quantile(
            torch.cat(group), 1 - frac).to(conv.bias)


def test_image(size, data_root: str) -> np.ndarray:
    """A BGR uint8 image of ``size`` (h, w): a bundled val image resized,
    else smooth noise."""
    img = None
    val = osp.join(data_root, 'val', 'images')
    if osp.isdir(val):
        for root, _, names in sorted(os.walk(val)):
            jpgs = sorted(n for n in names if n.endswith('.jpg'))
            if jpgs:
                img = cv2.imread(osp.join(root, jpgs[0]))
                break
    if img is None:
        rng = np.random.RandomState(0)
        img = rng.randint(0, 256,
                          (size[0] // 16, size[1] // 16, 3)).astype(np.uint8)
    return cv2.resize(img, (size[1], size[0]))


def bench_inference(name: str, config: str, args,
                    data_root: str) -> List[dict]:
    from mmdet_faces.apis import FaceDetector
    ckpt = args.checkpoints.get(name)
    kw = dict(
        device=args.device,
        test_scale='original',
        amp=args.amp,
        channels_last=args.channels_last)
    det1 = FaceDetector(config, ckpt, **kw)
    detn = FaceDetector(config, ckpt, batch_size=args.batch, **kw)
    device = det1.device
    if ckpt is None:
        calibrate_scores_(det1, test_image(VGA, data_root))
        detn.model.load_state_dict(det1.model.state_dict())
    train_size = tuple(_train_scale(det1.cfg))[::-1]  # (h, w)
    sizes = {'vga': VGA, 'train': train_size}
    rows = []
    for key in args.sizes:
        h, w = sizes[key]
        img = test_image((h, w), data_root)
        dets = len(det1(img))
        e2e = _timeit(lambda: det1(img), args.iters, args.warmup, device,
                      args.min_time)
        # the network alone on the input the test pipeline makes
        prepared = det1.inferencer.prepare(img, 0)
        inputs = det1.model.data_preprocessor(
            dict(
                inputs=[prepared['inputs']],
                data_samples=[prepared['data_samples']]), False)['inputs']
        if args.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)

        def net():
            with torch.no_grad(), det1._autocast():
                det1.model.bbox_head(det1.model.extract_feat(inputs))

        net_s = _timeit(net, args.iters, args.warmup, device, args.min_time)
        imgs = [img.copy() for _ in range(args.batch)]
        batch_s = _timeit(lambda: detn(imgs), max(1, args.iters // 2 + 1),
                          max(1, args.warmup // 2), device, args.min_time)
        rows.append(
            dict(
                model=MODELS[name][0],
                input=f'{w}x{h}',
                net_input='x'.join(str(v) for v in inputs.shape[:1:-1]),
                size=key,
                e2e_b1_ms=e2e['median'] * 1e3,
                e2e_b1_best_ms=e2e['best'] * 1e3,
                net_b1_ms=net_s['median'] * 1e3,
                net_b1_best_ms=net_s['best'] * 1e3,
                batch=args.batch,
                e2e_bN_img_s=args.batch / batch_s['median'],
                e2e_bN_best_img_s=args.batch / batch_s['best'],
                calls=(e2e['n'], net_s['n'], batch_s['n']),
                dets=dets))
        r = rows[-1]
        print(
            f'  {r["model"]} {w}x{h}: e2e b1 {r["e2e_b1_ms"]:.1f} ms '
            f'(best {r["e2e_b1_best_ms"]:.1f}), net b1 '
            f'{r["net_b1_ms"]:.1f} ms (best {r["net_b1_best_ms"]:.1f}), '
            f'b{args.batch} {r["e2e_bN_img_s"]:.2f} img/s (best '
            f'{r["e2e_bN_best_img_s"]:.2f}), {dets} dets, calls '
            f'{r["calls"]}',
            flush=True)
    return rows


# --------------------------------------------------------------- training
def _train_scale(cfg) -> tuple:
    """(w, h) of the train pipeline's final resize."""
    for step in cfg.train_dataloader.dataset.pipeline[::-1]:
        if 'scale' in step and 'Resize' in str(step.get('type')):
            return tuple(step['scale'])
    return (640, 640)


def ensure_data(data_root: str) -> str:
    """``data_root`` if it holds a WIDER train set, else a generated one."""
    if osp.isfile(osp.join(data_root, 'train', 'label.txt')):
        return data_root
    from tools.dataset_converters.synthetic import generate_widerface
    tmp = tempfile.mkdtemp(prefix='bench_widerface_')
    print(f'  {data_root} not found: generating 64 train images in {tmp}')
    generate_widerface(tmp, num_train=64, num_val=4, seed=0, progress=False)
    return tmp


def bench_train(name: str, config: str, args, data_root: str) -> dict:
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmcv_patches  # noqa: F401
    cfg = Config.fromfile(config)
    batch = args.train_batch or cfg.train_dataloader.batch_size
    workers = args.workers
    if workers is None:
        workers = min(
            cfg.train_dataloader.get('num_workers', 2),
            os.cpu_count() or 1)
    cfg.train_dataloader.update(
        batch_size=batch, num_workers=workers, persistent_workers=workers > 0)
    cfg.train_dataloader.dataset.data_root = data_root + '/'
    if args.train_scale:
        for step in cfg.train_dataloader.dataset.pipeline:
            if 'scale' in step and 'Resize' in str(step.get('type')):
                step['scale'] = tuple(args.train_scale)
    if 'init_cfg' in cfg.model.backbone:
        cfg.model.backbone.init_cfg = None  # no ImageNet download
    cfg.model.backbone.pop('pretrained', None)
    train_steps_only(cfg, args.amp)
    cfg.work_dir = tempfile.mkdtemp(prefix='bench_train_')
    cfg.env_cfg = dict(cudnn_benchmark=args.device.startswith('cuda'))
    runner = Runner.from_cfg(cfg)
    # the runner puts the model on mmengine's default device; --device
    # decides (e.g. cpu on a GPU machine, or cuda:1)
    model = runner.model.to(torch.device(args.device))
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    warmup = 1
    optim_wrapper.initialize_count_status(model, 0, args.train_iters + warmup)
    loader = runner.build_dataloader(cfg.train_dataloader, seed=0)
    device = next(model.parameters()).device
    model.train()

    def batches():
        while True:
            yield from loader

    it = batches()
    cached = next(it) if args.train_data == 'cached' else None

    def step():
        data = cached if cached is not None else next(it)
        model.train_step(data, optim_wrapper=optim_wrapper)

    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(args.train_iters):
        step()
    synchronize(device)
    seconds = time.perf_counter() - start
    w, h = _train_scale(cfg)
    row = dict(
        model=MODELS[name][0],
        input=f'{w}x{h}',
        batch=batch,
        data=args.train_data,
        workers=workers,
        iters=args.train_iters,
        img_s=batch * args.train_iters / seconds)
    print(
        f'  {row["model"]} train {w}x{h} batch {batch}: '
        f'{row["img_s"]:.2f} img/s',
        flush=True)
    return row


# ------------------------------------------------------------------ table
def markdown(env: dict, infer_rows: List[dict], train_rows: List[dict],
             args) -> str:
    dev = env.get('gpu', env['cpu'])
    flags = ', '.join(f for f, on in (('AMP', args.amp),
                                      ('channels_last', args.channels_last))
                      if on) or 'fp32'
    lines = [
        f'Device: {args.device} ({dev}); CPU: {env["cpu"]}, '
        f'{env["cpu_cores"]} cores ({env["torch_threads"]} torch threads)' +
        (f'; GPU: {env["gpu"]}, CUDA {env["cuda"]}, cuDNN {env["cudnn"]}'
         if 'gpu' in env else ''),
        f'Software: Python {env["python"]}, torch {env["torch"]}, mmcv '
        f'{env["mmcv"]}, mmengine {env["mmengine"]}, mmdet {env["mmdet"]}, '
        f'mmdet_faces {env["mmdet_faces"]}, OpenCV {env["opencv"]}; '
        f'precision: {flags}', ''
    ]
    if infer_rows:
        bs = infer_rows[0]['batch']
        lines += [
            f'| model | input | e2e b1 (ms) | net b1 (ms) | e2e b{bs} '
            '(img/s) | dets/img |', '|---|---|---:|---:|---:|---:|'
        ]
        for r in infer_rows:
            net_in = r.get('net_input', r['input'])
            shown = r['input'] + (f' (net {net_in})'
                                  if net_in != r['input'] else '')
            lines.append(
                f'| {r["model"]} | {shown} | {r["e2e_b1_ms"]:.1f} '
                f'({r["e2e_b1_best_ms"]:.1f}) | {r["net_b1_ms"]:.1f} '
                f'({r["net_b1_best_ms"]:.1f}) | {r["e2e_bN_img_s"]:.2f} '
                f'({r["e2e_bN_best_img_s"]:.2f}) | {r["dets"]} |')
        lines += ['', 'median (best) of the timed calls', '']
    if train_rows:
        lines += [
            '| model | train size | batch | data | workers | train '
            '(img/s) |', '|---|---|---:|---|---:|---:|'
        ]
        for r in train_rows:
            lines.append(f'| {r["model"]} | {r["input"]} | {r["batch"]} | '
                         f'{r["data"]} | {r["workers"]} | '
                         f'{r["img_s"]:.2f} |')
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    warnings.filterwarnings('ignore')
    if args.threads:
        torch.set_num_threads(args.threads)
    import mmdet_faces  # noqa: F401
    env = environment(args.device)
    data_root = args.data_root
    infer_rows, train_rows = [], []
    for name in args.models:
        config = osp.join(REPO_ROOT, MODELS[name][1])
        print(
            f'{MODELS[name][0]} ({MODELS[name][1]}) on {args.device}',
            flush=True)
        if not args.no_infer:
            infer_rows += bench_inference(name, config, args, data_root)
        if not args.no_train:
            if not osp.isabs(data_root):
                data_root = osp.join(REPO_ROOT, data_root)
            train_rows.append(
                bench_train(name, config, args, ensure_data(data_root)))
    table = markdown(env, infer_rows, train_rows, args)
    print()
    print(table)
    result = dict(
        env=env,
        args=vars(args),
        inference=infer_rows,
        training=train_rows,
        table=table)
    if args.out_json:
        mmengine.dump(result, args.out_json, indent=1)  # creates the folder
    return result


if __name__ == '__main__':
    main()
