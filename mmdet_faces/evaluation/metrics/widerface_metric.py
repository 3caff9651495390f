# Copyright (c) mmdet_faces contributors. All rights reserved.
"""WIDER Face easy / medium / hard AP as an mmengine metric."""
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from ...utils import relay_warnings
from ..functional import (DEFAULT_SIZE_BUCKETS, GT_FILES, WIDERFACE_SETTINGS,
                          WIDERFaceEvalWarning, eval_face_ap,
                          evaluate_widerface, load_widerface_gt)

__all__ = ['WIDERFaceMetric']

# decimals of the written (and evaluated) boxes and scores
_BOX_DECIMALS = 3
_SCORE_DECIMALS = 8


def _to_numpy(x, cols):
    """Boxes / scores of a data sample (tensor, box object or array)."""
    if x is None:
        return np.zeros((0, cols) if cols else (0, ), dtype=np.float32)
    if hasattr(x, 'tensor'):  # mmdet box types
        x = x.tensor
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    return x.reshape(-1, cols) if cols else x.reshape(-1)


def _round(x, decimals):
    """Round to the decimals written, so that ``'%.{d}f' % v`` reads back
    exactly as ``v``."""
    scale = 10.**decimals
    return np.rint(x * scale) / scale


@METRICS.register_module()
class WIDERFaceMetric(BaseMetric):
    """WIDER Face evaluation, exact to the published protocol.

    With ``gt_dir`` (the official ``ground_truth/`` folder) it reports the
    easy / medium / hard AP of the widely used Python port of the official
    toolkit (see :func:`evaluate_widerface`), plus ``allfaces`` (every face
    of the images seen counts). Without it, it reports the AP over the
    ``gt_instances`` of the data samples (``ignored_instances`` are don't
    care faces) and one AP per face size bucket (:func:`eval_face_ap`); the
    test pipeline must then load the annotations *after* ``Resize`` so that
    they stay in original image coordinates, as mmdet's VOC configs do.

    Predictions are used per image in descending score order (stable for
    ties). Boxes are converted to ``x y w h`` (``w = x2 - x1``) and rounded
    to 1e-3 pixel, scores to 1e-8, exactly as they are written with
    ``outfile_prefix``, so that evaluating the written folder with
    ``tools/analysis_tools/eval_widerface.py`` gives the same numbers.

    Args:
        gt_dir (str, optional): Folder with ``wider_face_val.mat``,
            ``wider_easy_val.mat``, ``wider_medium_val.mat`` and
            ``wider_hard_val.mat``. Defaults to None.
        iou_thr (float): IoU threshold. Defaults to 0.5.
        outfile_prefix (str, optional): Write the predictions in the
            official layout under this folder (``<event>/<name>.txt``: name,
            box count, ``x y w h score`` rows, score-descending). Defaults
            to None.
        allow_missing (bool): With ``gt_dir``, ground-truth images without
            results count as images without predictions (with a warning)
            instead of raising. Defaults to False. (With ``mmcv_patches``
            the ground truth is checked against the test set when the loop
            is built, see :meth:`check_dataset`.)
        size_buckets (dict, optional): Without ``gt_dir``, ``name: (low,
            high)`` face size buckets (see :func:`eval_face_ap`). Defaults
            to small < 32, medium 32-96, large >= 96 pixels.
        size_mode (str): ``'sqrt_area'`` or ``'height'``: the face size of
            the buckets. Defaults to ``'sqrt_area'``.
        box_format (str): How boxes become ``x y w h`` rows, in the files
            and in the evaluation. ``'float'``: rounded to 0.001 px.
            ``'int'``: as the RetinaFace reference writer
            (biubug6 ``test_widerface.py``) does for its published numbers:
            ``x = int(x1)``, ``w = int(x2) - int(x1)`` (truncation).
            Defaults to ``'float'``.
        collect_device (str): ``'cpu'`` or ``'gpu'``, used to gather the
            results of all ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to
            ``'widerface'``.
    """
    default_prefix: Optional[str] = 'widerface'

    def __init__(self,
                 gt_dir: Optional[str] = None,
                 iou_thr: float = 0.5,
                 outfile_prefix: Optional[str] = None,
                 allow_missing: bool = False,
                 size_buckets: Optional[dict] = DEFAULT_SIZE_BUCKETS,
                 size_mode: str = 'sqrt_area',
                 box_format: str = 'float',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if gt_dir is not None and not osp.isdir(gt_dir):
            raise FileNotFoundError(
                f'WIDERFaceMetric: gt_dir {gt_dir} does not exist')
        if gt_dir is not None:
            # fail now, not after the whole test run
            missing = [
                f for _, f in GT_FILES if not osp.isfile(osp.join(gt_dir, f))
            ]
            if missing:
                raise FileNotFoundError(
                    f'WIDERFaceMetric: gt_dir {gt_dir} lacks '
                    f'{", ".join(missing)} (the WIDER Face ground-truth '
                    'folder holds wider_face_val.mat, wider_easy_val.mat, '
                    'wider_medium_val.mat and wider_hard_val.mat)')
        if size_mode not in ('sqrt_area', 'height'):
            raise ValueError(f'size_mode must be "sqrt_area" or "height", '
                             f'got {size_mode!r}')
        if box_format not in ('float', 'int'):
            raise ValueError(f'box_format must be "float" or "int", got '
                             f'{box_format!r}')
        self.box_format = box_format
        self.gt_dir = gt_dir
        self.iou_thr = float(iou_thr)
        self.outfile_prefix = outfile_prefix
        self.allow_missing = allow_missing
        self.size_buckets = dict(size_buckets or {})
        self.size_mode = size_mode
        self._gt = None

    def check_dataset(self, dataset) -> None:
        """Check, before the loop, that the metric's inputs fit ``dataset``
        (called by ``mmcv_patches`` when the val / test loop is built).

        With ``gt_dir``: the ground truth must name images of the data set,
        and (without ``allow_missing``) every ground-truth image must be in
        it. ``outfile_prefix`` is created.

        Args:
            dataset: The loop's dataset (``get_data_info(i)['img_path']``).

        Raises:
            ValueError: the ground truth does not fit the data set.
            OSError: ``outfile_prefix`` cannot be created.
        """
        logger = MMLogger.get_current_instance()
        if self.outfile_prefix is not None:
            try:
                os.makedirs(self.outfile_prefix, exist_ok=True)
            except OSError as e:
                raise OSError(
                    f'WIDERFaceMetric: cannot create outfile_prefix '
                    f'{self.outfile_prefix}: {e.strerror or e}') from None
        if self.gt_dir is None:
            return
        if self._gt is None:
            self._gt = load_widerface_gt(self.gt_dir)
        gt_names = self._gt['names']
        names = set()
        for i in range(len(dataset)):
            path = dataset.get_data_info(i)['img_path']
            names.add(f'{osp.basename(osp.dirname(path))}/'
                      f'{osp.splitext(osp.basename(path))[0]}')
        known = [n for n in gt_names if n in names]
        missing = len(gt_names) - len(known)
        what = (f'the ground truth in {self.gt_dir} does not fit the data set '
                f'({len(names)} images)')
        fix = ('check gt_dir and the data set\'s ann_file / data_prefix')
        if names and not known:
            raise ValueError(
                f'WIDERFaceMetric: {what}: none of its {len(gt_names)} images '
                f'is in the data set (e.g. {gt_names[0]}); {fix}')
        if missing and not self.allow_missing:
            absent = [n for n in gt_names if n not in names]
            shown = ', '.join(absent[:5]) + (', ...' if missing > 5 else '')
            raise ValueError(
                f'WIDERFaceMetric: {what}: {missing} of its {len(gt_names)} '
                f'images are not in the data set ({shown}); {fix}, or set '
                'allow_missing=True to count them as images without '
                'predictions')
        extra = len(names) - len(known)
        if extra:
            logger.warning(
                f'WIDERFaceMetric: {extra} of the {len(names)} images of the '
                f'data set are not in the ground truth of {self.gt_dir}; '
                'they only take part in the score normalisation')

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the predictions (and, without ``gt_dir``, the annotations)
        of a batch as small float32 arrays.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model outputs, as dicts.
        """
        for sample in data_samples:
            img_path = sample.get('img_path')
            if img_path is None:
                raise KeyError('WIDERFaceMetric needs img_path in the data '
                               'samples (ending with <event>/<name>.jpg)')
            event = osp.basename(osp.dirname(img_path))
            name = osp.splitext(osp.basename(img_path))[0]
            pred = sample.get('pred_instances')
            if pred is None:
                raise KeyError('WIDERFaceMetric needs pred_instances in the '
                               'data samples')
            bboxes = _to_numpy(pred.get('bboxes'), 4)
            scores = _to_numpy(pred.get('scores'), 0)
            if not (np.isfinite(bboxes).all() and np.isfinite(scores).all()):
                what = 'predictions'
                if len(bboxes) == len(scores):
                    bad = ~np.isfinite(scores)
                    bad |= ~np.isfinite(bboxes).all(axis=1)
                    k = int(np.flatnonzero(bad)[0])
                    what = (f'{int(bad.sum())} of {len(bad)} predictions '
                            f'(e.g. box {bboxes[k].tolist()}, score '
                            f'{float(scores[k])})')
                raise ValueError(
                    f'WIDERFaceMetric: NaN or infinite boxes or scores in the '
                    f'{what} of {img_path}; boxes and scores must be finite '
                    'numbers')
            order = np.argsort(-scores, kind='stable')
            result = dict(
                name=f'{event}/{name}',
                dets=np.concatenate([bboxes[order], scores[order, None]],
                                    axis=1).astype(np.float32))
            if self.gt_dir is None:
                gt = sample.get('gt_instances')
                if gt is None:
                    raise KeyError(
                        'WIDERFaceMetric without gt_dir needs gt_instances in '
                        'the data samples (load the annotations after Resize '
                        'in the test pipeline), or set gt_dir')
                ignored = sample.get('ignored_instances') or {}
                result['gt'] = _to_numpy(gt.get('bboxes'), 4)
                result['ignored'] = _to_numpy(ignored.get('bboxes'), 4)
                if not (np.isfinite(result['gt']).all()
                        and np.isfinite(result['ignored']).all()):
                    raise ValueError(
                        f'WIDERFaceMetric: a ground-truth box of {img_path} '
                        'is NaN or infinite')
            self.results.append(result)

    def _xywh(self, dets: np.ndarray) -> np.ndarray:
        """float32 ``x1 y1 x2 y2 s`` -> float64 ``x y w h s`` rounded (or
        truncated) as ``box_format`` says."""
        d = dets.astype(np.float64)
        out = np.empty_like(d)
        if self.box_format == 'int':
            # Python's int(): toward zero (+ 0.0 turns -0.0 into 0.0)
            corners = np.trunc(d[:, :4]) + 0.0
            out[:, :2] = corners[:, :2]
            out[:, 2:4] = corners[:, 2:4] - corners[:, :2]
        else:
            out[:, :2] = _round(d[:, :2], _BOX_DECIMALS)
            out[:, 2:4] = _round(d[:, 2:4] - d[:, :2], _BOX_DECIMALS)
        out[:, 4] = _round(d[:, 4], _SCORE_DECIMALS)
        return out

    def _write(self, names, dets):
        """Write the official txt layout under ``outfile_prefix``."""
        decimals = 0 if self.box_format == 'int' else _BOX_DECIMALS
        fmt = (f'%.{decimals}f %.{decimals}f %.{decimals}f '
               f'%.{decimals}f %.{_SCORE_DECIMALS}f\n')
        for name, d in zip(names, dets):
            event, img = name.split('/')
            folder = osp.join(self.outfile_prefix, event)
            os.makedirs(folder, exist_ok=True)
            with open(osp.join(folder, img + '.txt'), 'w') as f:
                f.write(f'{img}\n{len(d)}\n')
                f.write(fmt * len(d) % tuple(d.ravel().tolist()))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the APs from the gathered results.

        Args:
            results (list): The results of all ranks.

        Returns:
            dict: ``easy``, ``medium``, ``hard`` and ``allfaces`` with
            ``gt_dir``, else ``AP`` and ``AP_<bucket>``.
        """
        logger = MMLogger.get_current_instance()
        seen, kept = set(), []
        for r in results:
            if r['name'] in seen:
                continue
            seen.add(r['name'])
            kept.append(r)
        if len(kept) != len(results):
            logger.warning(f'WIDERFaceMetric: {len(results) - len(kept)} '
                           'duplicated images in the results, kept the '
                           'first of each')
        names = [r['name'] for r in kept]
        dets = [self._xywh(r['dets']) for r in kept]
        if self.outfile_prefix is not None:
            self._write(names, dets)
            logger.info(f'WIDER Face predictions written to '
                        f'{self.outfile_prefix}')

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', WIDERFaceEvalWarning)
            if self.gt_dir is not None:
                metrics, faces = self._eval_widerface(names, dets, logger)
            else:
                metrics, faces = self._eval_custom(kept, dets)
        relay_warnings(  # e.g. every score equal: to the log
            caught, WIDERFaceEvalWarning,
            lambda msg: logger.warning(f'WIDERFaceMetric: {msg}'))
        rows = [f'{"setting":<10} {"AP":>8} {"faces":>8}']
        rows += [
            f'{k:<10} {v * 100:>8.2f} {faces[k]:>8d}'
            for k, v in metrics.items()
        ]
        logger.info('WIDER Face evaluation (iou_thr=%g):\n%s' %
                    (self.iou_thr, '\n'.join(rows)))
        return metrics

    def _eval_widerface(self, names, dets, logger):
        if self._gt is None:
            self._gt = load_widerface_gt(self.gt_dir)
        gt = self._gt
        gt_names = set(gt['names'])
        unknown = [n for n in names if n not in gt_names]
        if unknown:
            logger.warning(
                f'WIDERFaceMetric: {len(unknown)} images are not in '
                f'{self.gt_dir} (e.g. {", ".join(unknown[:5])}); they only '
                'take part in the score normalisation')
        seen = set(names)
        missing = [n for n in gt['names'] if n not in seen]
        if missing:
            msg = (f'{len(missing)} of {len(gt["names"])} ground-truth images '
                   f'have no results: {", ".join(missing[:10])}' +
                   (', ...' if len(missing) > 10 else ''))
            if not self.allow_missing:
                raise ValueError(f'WIDERFaceMetric: {msg} (set '
                                 'allow_missing=True to count them as images '
                                 'without predictions)')
            logger.warning(f'WIDERFaceMetric: {msg}; they count as images '
                           'without predictions')
        offsets = np.zeros(len(dets) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in dets], out=offsets[1:])
        preds = dict(
            names=names,
            dets=np.concatenate(dets) if dets else np.zeros((0, 5)),
            offsets=offsets)
        res = evaluate_widerface(
            preds, gt, iou_thr=self.iou_thr, allow_missing=True, allfaces=True)
        keys = list(WIDERFACE_SETTINGS) + ['allfaces']
        return (OrderedDict((k, res[k]) for k in keys), {
            k: res['num_faces'][k]
            for k in keys
        })

    def _eval_custom(self, kept, dets):
        preds, gts, ignores = [], [], []
        for r, d in zip(kept, dets):
            corners = d.copy()
            corners[:, 2:4] += corners[:, :2]
            preds.append(corners)
            gts.append(
                np.concatenate([r['gt'], r['ignored']]).astype(np.float64))
            ignores.append(np.r_[np.zeros(len(r['gt']), bool),
                                 np.ones(len(r['ignored']), bool)])
        res = eval_face_ap(
            preds,
            gts,
            ignores,
            size_buckets=self.size_buckets,
            iou_thr=self.iou_thr,
            size_mode=self.size_mode)
        metrics = OrderedDict(AP=res['all'])
        faces = dict(AP=res['num_faces']['all'])
        for k in self.size_buckets:
            metrics[f'AP_{k}'] = res[k]
            faces[f'AP_{k}'] = res['num_faces'][k]
        return metrics, faces
