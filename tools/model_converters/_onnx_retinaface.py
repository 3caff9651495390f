# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Import RetinaFace ONNX exports (BatchNorm folded or not).

PyTorch's exporter names every node after the module that made it
(``/fx/stage1/stage1.1/stage1.1.0/stage1.1.0.0/Conv`` is module
``fx.stage1.1.0.0``) and, in eval mode, folds each BatchNorm into the conv
before it (``W * g / sqrt(v + eps)``, bias ``b - m * g / sqrt(v + eps)``).
This module rebuilds the source project's state dict from such a graph:

* each Conv node is named by its module path (from the node's scope, the
  name of its weight initializer or the exporter's ``name_scopes``
  metadata), validated against the target architecture (the path must map
  to a conv of ours with the same kernel, stride, padding, dilation and
  groups);
* a conv whose target has a BatchNorm after it gets the BatchNormalization
  node that follows it in the graph, or, when the export folded it, an
  identity BatchNorm (weight 1, running mean 0, running var ``1 - eps``,
  bias = the folded bias): the network computes exactly what the ONNX graph
  computes and stays a normal trainable model;
* a conv that the exporter emitted twice (yakhyo's SSH calls ``conv5X5_1``
  twice) must have equal weights both times.

The result goes through the family's ordinary key mapping, so the same
refusal rules apply. Needs the ``onnx`` package; nothing in the file is run.
"""
import re
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

_SCOPE_KEY = 'pkg.torch.onnx.name_scopes'


def _load_onnx(path: str, error):
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise error('reading ONNX files needs the onnx package '
                    '(pip install onnx)') from None
    try:
        model = onnx.load(path)
    except Exception as e:  # protobuf DecodeError, missing external data
        raise error(f'{path}: not a readable ONNX model ({e})') from None
    return model, numpy_helper


def _scope_paths(scopes: List[str]) -> List[str]:
    """Module paths a node scope can spell. PyTorch names a scope after the
    module's attribute, with the container's name in front for children of
    ``nn.Sequential`` / ``nn.ModuleList`` (``/fx/layer1/layer1.0/conv1``
    is ``fx.layer1.0.conv1``); a child attribute that happens to repeat its
    parent's name (``/class_head/class_head.0`` is
    ``class_head.class_head.0``) spells the same, so both readings are
    offered, the container one first."""
    paths = [[]]
    for c in scopes:
        nxt = []
        for p in paths:
            if p and c.startswith(p[-1] + '.'):
                nxt.append(p[:-1] + [c])
            nxt.append(p + [c])
        paths = nxt[:64]
    return ['.'.join(p) for p in paths]


def _candidates(node, weight_name: str) -> List[str]:
    """Module paths a Conv node may come from, most likely first."""
    out = []
    comps = [c for c in node.name.split('/') if c]
    if len(comps) >= 2:
        out += _scope_paths(comps[:-1])  # the last component is the op
    if weight_name.endswith('.weight'):
        out.append(weight_name[:-len('.weight')])
    for prop in node.metadata_props:
        if prop.key == _SCOPE_KEY:
            found = re.findall(r"'([^']*)'", prop.value)
            if found and found[-1]:
                out.append(found[-1])
    # a module called twice gets a suffix on its second node: `name_1`
    out += [re.sub(r'_\d+$', '', c) for c in out]
    seen, unique = set(), []
    for c in out:
        if c and c not in seen:
            seen.add(c)
            unique.append(c)
    return unique


def _attrs(node) -> Dict[str, object]:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _bn_name(path: str) -> Optional[str]:
    """The module after a conv in the source layout: the next index of its
    ``nn.Sequential`` (``X.0`` -> ``X.1``) or ``convN`` -> ``bnN``."""
    m = re.match(r'^(.*)\.(\d+)$', path)
    if m:
        return f'{m.group(1)}.{int(m.group(2)) + 1}'
    m = re.match(r'^(.*)conv(\d*)$', path)
    if m:
        return f'{m.group(1)}bn{m.group(2)}'
    return None


def _our_bn(key: str) -> Optional[str]:
    """Our BatchNorm weight key for our conv weight key (None: no rule)."""
    if key.endswith('.conv.weight'):
        return key[:-len('conv.weight')] + 'bn.weight'
    if key.endswith('.downsample.0.weight'):
        return key[:-len('0.weight')] + '1.weight'
    m = re.match(r'^(.*\.)conv(\d+)\.weight$', key)
    return f'{m.group(1)}bn{m.group(2)}.weight' if m else None


def onnx_to_state_dict(path: str, family: str, arch: str, hooks,
                       error) -> Tuple[Dict[str, torch.Tensor], str]:
    """Rebuild the source project's state dict from an ONNX export.

    Args:
        path (str): The ``.onnx`` file.
        family (str): ``'auto'`` or a family of ``hooks.to_canonical``.
        arch (str): ``'auto'`` or an architecture.
        hooks: ``to_canonical`` (family -> key function), ``map_key``,
            ``detect_arch``, ``target_state_dict`` and ``target_model`` of
            the converter.
        error (type): Exception raised to refuse the file.

    Returns:
        tuple: the state dict in the family's own layout, and the family.
    """
    model, numpy_helper = _load_onnx(path, error)
    graph = model.graph
    arrays = {t.name: t for t in graph.initializer}
    alias: Dict[str, str] = {}
    consumers: Dict[str, List] = {}
    for node in graph.node:
        if node.op_type == 'Identity':
            alias[node.output[0]] = node.input[0]
        elif node.op_type == 'Constant':
            for a in node.attribute:
                if a.name == 'value':
                    arrays[node.output[0]] = a.t
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def resolve(name: str) -> Tuple[Optional[np.ndarray], str]:
        seen = 0
        while name in alias and seen < 100:
            name, seen = alias[name], seen + 1
        if name not in arrays:
            return None, name
        return numpy_helper.to_array(arrays[name]), name

    convs = []
    for node in graph.node:
        if node.op_type != 'Conv':
            continue
        weight, wname = resolve(node.input[1])
        if weight is None:
            raise error(f'{path}: Conv node {node.name!r} has no constant '
                        'weight')
        bias = resolve(node.input[2])[0] if len(node.input) > 2 and \
            node.input[2] else None
        bn = None
        users = consumers.get(node.output[0], [])
        if len(users) == 1 and users[0].op_type == 'BatchNormalization':
            params = [resolve(n)[0] for n in users[0].input[1:5]]
            if any(p is None for p in params):
                raise error(f'{path}: BatchNormalization after '
                            f'{node.name!r} has non-constant parameters')
            bn = params + [float(_attrs(users[0]).get('epsilon', 1e-5))]
        convs.append(
            dict(
                node=node,
                weight=weight,
                bias=bias,
                bn=bn,
                cands=_candidates(node, wname),
                attrs=_attrs(node)))
    if not convs:
        raise error(f'{path}: no Conv node: not a RetinaFace export')

    families = [family] if family != 'auto' else ['yakhyo', 'biubug6']
    kinds = ('mnet025', 'mnv2', 'r50')  # the three backbone key schemes
    best = None
    for fam_name in families:
        to_canonical = hooks.to_canonical[fam_name]
        picked = {}
        for i, c in enumerate(convs):
            for cand in c['cands']:
                ck = to_canonical(cand + '.weight')
                if ck and any(hooks.map_key(ck, k) for k in kinds):
                    picked[i] = cand
                    break
        if best is None or len(picked) > len(best[1]):
            best = (fam_name, picked)
    fam_name, picked = best
    to_canonical = hooks.to_canonical[fam_name]
    if arch == 'auto':
        shapes = {
            to_canonical(p + '.weight'):
            torch.from_numpy(np.array(convs[i]['weight']))
            for i, p in picked.items()
        }
        arch = hooks.detect_arch(shapes)
    target = hooks.target_state_dict(arch)
    model_t = hooks.target_model(arch)

    def ours(p: str) -> Optional[str]:
        ck = to_canonical(p + '.weight')
        key = hooks.map_key(ck, arch) if ck else None
        return key if key in target else None

    sd: Dict[str, torch.Tensor] = {}
    done: Dict[str, dict] = {}
    unmapped: List[str] = []
    for i, c in enumerate(convs):
        path_ = next(
            (p for p in ([picked[i]] if i in picked else []) + c['cands']
             if ours(p)), None)
        if path_ is None:
            unmapped.append(f'{c["node"].name} (weight '
                            f'{tuple(c["weight"].shape)})')
            continue
        if path_ in done:
            prev = done[path_]
            same_b = (prev['bias'] is None) == (c['bias'] is None) and (
                c['bias'] is None or np.array_equal(prev['bias'], c['bias']))
            if not (np.array_equal(prev['weight'], c['weight']) and same_b):
                raise error(f'{path}: Conv nodes {prev["node"].name!r} and '
                            f'{c["node"].name!r} both map to {path_} but '
                            'have different weights')
            continue
        done[path_] = c
        key = ours(path_)
        module = model_t.get_submodule(key[:-len('.weight')])
        a = c['attrs']
        pads = list(a.get('pads', [0, 0, 0, 0]))
        got = (tuple(a.get('strides', [1, 1])), tuple(pads[:2]),
               tuple(a.get('dilations', [1, 1])), int(a.get('group', 1)))
        want = (tuple(module.stride), tuple(module.padding),
                tuple(module.dilation), int(module.groups))
        if got != want or pads[:2] != pads[2:]:
            raise error(f'{path}: Conv node {c["node"].name!r} (strides, '
                        f'pads, dilations, group) {got} does not fit {key} '
                        f'{want}')
        weight = torch.from_numpy(np.array(c['weight'], copy=True))
        bias = None if c['bias'] is None else torch.from_numpy(
            np.array(c['bias'], copy=True))
        sd[path_ + '.weight'] = weight
        bn_key = _our_bn(key)
        if bn_key not in target:  # a head conv: bias is its own
            if bias is not None:
                sd[path_ + '.bias'] = bias
            continue
        bn_path = _bn_name(path_)
        if bn_path is None or ours(bn_path) != bn_key:
            raise error(f'{path}: cannot name the BatchNorm after {path_} '
                        f'in the {fam_name} layout (expected {bn_key})')
        eps = model_t.get_submodule(bn_key[:-len('.weight')]).eps
        n = weight.shape[0]
        if c['bn'] is not None:  # exported unfolded
            g, b, m, v, onnx_eps = [
                torch.from_numpy(np.array(x))
                if not isinstance(x, float) else x for x in c['bn']
            ]
            if bias is not None:
                m = m - bias
            v = v + (onnx_eps - eps)
        else:  # folded: identity BatchNorm carrying the folded bias
            g, m = torch.ones(n), torch.zeros(n)
            v = torch.full((n, ), 1.0 - eps)
            b = bias if bias is not None else torch.zeros(n)
        sd[bn_path + '.weight'] = g.float()
        sd[bn_path + '.bias'] = b.float()
        sd[bn_path + '.running_mean'] = m.float()
        sd[bn_path + '.running_var'] = v.float()
    if unmapped:
        raise error(
            f'{path}: {len(unmapped)} Conv node(s) of the ONNX graph do not '
            f'map to RetinaFace {arch} in the {fam_name} layout: ' +
            ', '.join(unmapped))
    return sd, fam_name
