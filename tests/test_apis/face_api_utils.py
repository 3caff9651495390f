"""Helpers for the API / tool tests (not a test module): small random
detectors whose scores look like a trained model's (few faces above 0.5,
no ties), saved as checkpoints."""
import os.path as osp

import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MNET_CFG = osp.join(REPO_ROOT, 'configs', 'retinaface',
                    'retinaface_mnet025_1xb32-250e_widerface.py')
S3FD_CFG = osp.join(REPO_ROOT, 'configs', 's3fd',
                    's3fd_vgg16-w0.125_1xb8-300iter_widerface-synthetic.py')


def face_like_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Randomise ``model`` in place: BN statistics, and the classification
    convs so that the background wins on most anchors (bias +2) while the
    scores still vary from anchor to anchor."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(
                    torch.rand(m.running_mean.shape, generator=gen) * 0.6 -
                    0.3)
                m.running_var.copy_(
                    torch.rand(m.running_var.shape, generator=gen) + 0.5)
        head = model.bbox_head
        for conv in head.cls_convs:
            conv.weight.copy_(
                torch.randn(conv.weight.shape, generator=gen) * 0.3)
            bias = torch.zeros_like(conv.bias)
            if hasattr(head, 'landmark_coder'):  # RetinaFace: [bg, face]*A
                bias.view(-1, 2)[:, 0] = 2.
            else:  # S3FD: background channel(s) then the face channel
                bias[:-1] = 2.
            conv.bias.copy_(bias)
    return model


def save_checkpoint(model: torch.nn.Module,
                    path: str,
                    with_meta: bool = False) -> str:
    """Save ``model`` as a checkpoint; without ``meta.dataset_meta`` (as
    a state dict saved by hand: mmdet then warns and takes COCO's class
    names) unless ``with_meta``."""
    meta = dict(arch='test')
    if with_meta:
        meta['dataset_meta'] = dict(classes=('face', ))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    return path


def make_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """A face-like random checkpoint for ``config`` at ``path``."""
    from mmdet_faces.apis import FaceDetector
    torch.manual_seed(seed)
    model = FaceDetector(config).model
    face_like_(model, seed)
    return save_checkpoint(model, path)


def random_images(shapes, seed: int = 0):
    """Smooth random BGR uint8 images (blobs, not white noise)."""
    rng = np.random.RandomState(seed)
    imgs = []
    for h, w in shapes:
        small = rng.randint(0, 256, (max(2, h // 8), max(2, w // 8), 3))
        import cv2
        img = cv2.resize(
            small.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        noise = rng.randint(-20, 21, (h, w, 3))
        imgs.append(np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8))
    return imgs


def write_video(path: str, frames, fourcc: str = 'mp4v', fps: float = 10):
    """Write BGR ``frames`` (all of one size) as a video file."""
    import cv2
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps,
                             (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def demo_argv(name, checkpoint, folder):
    """Command line of ``demo/<name>.py`` with ``MNET_CFG`` and
    ``checkpoint`` (inputs need not exist: the model is built first)."""
    if name == 'image_demo':
        return [
            str(folder / 'x.jpg'), MNET_CFG, '--weights', checkpoint,
            '--device', 'cpu', '--out-dir',
            str(folder / 'out')
        ]
    if name == 'video_demo':
        return [
            str(folder / 'clip.avi'), MNET_CFG, checkpoint, '--device', 'cpu',
            '--out',
            str(folder / 'out.mp4')
        ]
    return [MNET_CFG, checkpoint, '--device', 'cpu', '--camera-id', '7']
