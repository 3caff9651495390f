"""mmdet's ``DetInferencer`` (and so ``demo/image_demo.py``) on configs
whose image loader is a registered ``LoadImageFromFile`` subclass and on
models that predict keypoints.

* ``inferencer.det_loader_subclasses``: ``DetInferencer`` finds the image
  loader of the test pipeline by exact name (``'LoadImageFromFile'``);
  a registered subclass such as ``LoadFaceImage`` now counts too.
* ``inferencer.det_pred_keypoints``: ``DetInferencer`` predictions (the
  returned dicts and ``preds/*.json``) carry ``keypoints`` when the model
  predicts them (``pred_instances.keypoints``).
"""
import os.path as osp
from typing import Optional

from ._patching import original, patch, replace_attr


def _registered_class(type_: object) -> Optional[type]:
    """The class a pipeline step's ``type`` (a name or a class) builds in
    the current default scope, or None."""
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str):
        return None
    from mmdet.registry import TRANSFORMS
    try:
        return TRANSFORMS.get(type_)
    except Exception:  # an unknown scope prefix
        return None


def _get_transform_idx(self, pipeline_cfg, name) -> int:
    """``DetInferencer._get_transform_idx`` that also matches a step whose
    registered class is a subclass of a class in ``name``."""
    idx = original(_get_transform_idx)(self, pipeline_cfg, name)
    bases = tuple(n for n in name if isinstance(n, type))
    if idx != -1 or not bases:
        return idx
    for i, step in enumerate(pipeline_cfg):
        cls = _registered_class(step.get('type'))
        if cls is not None and issubclass(cls, bases):
            return i
    return -1


@patch('inferencer.det_loader_subclasses')
def patch_det_inferencer_loader():
    """Install :func:`_get_transform_idx` on ``DetInferencer``.

    Upstream gap: mmdet 3.3's ``DetInferencer._init_pipeline`` looks for
    ``type == 'LoadImageFromFile'`` (or mmcv's class itself) and raises
    "LoadImageFromFile is not found in the test pipeline" for any other
    loader, although it then replaces the loader by ``InferencerLoader``
    with the same arguments, which only needs them to be
    ``LoadImageFromFile``'s. A step whose registered class subclasses it
    is now found as well; pipelines upstream finds are unchanged.
    """
    try:
        from mmdet.apis import DetInferencer
    except ImportError as e:
        return f'mmdet.apis cannot be imported ({e})'
    return replace_attr(DetInferencer, '_get_transform_idx',
                        _get_transform_idx) or 'already installed'


def _pred2dict(self, data_sample, pred_out_dir: str = '') -> dict:
    """``DetInferencer.pred2dict`` with ``keypoints`` ((N, K, 2) lists) for
    models that predict them; the same file name under ``preds/``."""
    inst = data_sample.get('pred_instances')
    if inst is None or 'keypoints' not in inst:
        return original(_pred2dict)(self, data_sample, pred_out_dir)
    result = original(_pred2dict)(self, data_sample, '')
    result['keypoints'] = inst.keypoints.detach().float().cpu().tolist()
    if pred_out_dir:
        import mmengine

        # upstream's naming: the image's file name, else a running count
        img_path = data_sample.get('img_path')
        if img_path:
            stem = osp.splitext(osp.basename(img_path))[0]
        else:
            stem = str(self.num_predicted_imgs)
            self.num_predicted_imgs += 1
        mmengine.dump(result, osp.join(pred_out_dir, 'preds', stem + '.json'))
    return result


@patch('inferencer.det_pred_keypoints')
def patch_det_inferencer_keypoints():
    """Install :func:`_pred2dict` on ``DetInferencer``.

    Upstream gap: ``DetInferencer.pred2dict`` keeps ``labels``, ``scores``,
    ``bboxes`` and masks only, so face landmarks (``keypoints``) are
    missing from its results and ``preds/*.json``. Models without
    keypoints go through upstream unchanged.
    """
    try:
        from mmdet.apis import DetInferencer
    except ImportError as e:
        return f'mmdet.apis cannot be imported ({e})'
    return replace_attr(DetInferencer, 'pred2dict',
                        _pred2dict) or 'already installed'
