"""Every package ``__init__`` lists its components by name (no
``import *``), so a reader finds a registered component in one step."""
import importlib
import os
import os.path as osp
import re

import pytest

import mmdet_faces  # noqa: F401  (registers everything)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGES = ('mmdet_faces', 'mmcv_patches')


def _package_inits():
    for package in PACKAGES:
        for dirpath, _, files in os.walk(osp.join(REPO_ROOT, package)):
            if '__init__.py' in files:
                yield osp.relpath(dirpath, REPO_ROOT).replace(os.sep, '.')


def test_no_star_imports():
    star = re.compile(r'^\s*from\s+\S+\s+import\s+\*', re.M)
    for package in PACKAGES:
        for dirpath, _, files in os.walk(osp.join(REPO_ROOT, package)):
            for name in files:
                if name.endswith('.py'):
                    path = osp.join(dirpath, name)
                    with open(path, encoding='utf-8') as f:
                        assert not star.search(f.read()), path


@pytest.mark.parametrize('package', sorted(_package_inits()))
def test_all_names_resolve(package):
    module = importlib.import_module(package)
    names = getattr(module, '__all__', None)
    assert names is not None, f'{package}/__init__.py has no __all__'
    assert len(set(names)) == len(names), f'{package}: duplicate names'
    for name in names:
        assert hasattr(module, name), f'{package}.__all__ lists {name}'


def _registered_components():
    from mmdet import registry
    for reg_name in ('MODELS', 'TASK_UTILS', 'DATASETS', 'TRANSFORMS',
                     'METRICS', 'VISUALIZERS', 'HOOKS'):
        for name, obj in getattr(registry, reg_name).module_dict.items():
            if getattr(obj, '__module__', '').startswith('mmdet_faces.'):
                yield reg_name, name, obj


def test_registered_components_are_exported():
    components = list(_registered_components())
    assert len(components) >= 20
    for reg_name, name, obj in components:
        parts = obj.__module__.split('.')
        # the top-level subpackage (mmdet_faces.models) and the one that
        # holds the module (mmdet_faces.models.dense_heads) both list it
        for package in {'.'.join(parts[:2]), '.'.join(parts[:-1])}:
            module = importlib.import_module(package)
            assert name in module.__all__, \
                f'{reg_name} {name} is not exported by {package}'
            assert getattr(module, name) is obj
