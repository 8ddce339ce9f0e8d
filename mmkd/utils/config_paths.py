"""Names of configs and checkpoints: local paths, ``scope::`` config names
of installed OpenMMLab packages and checkpoint URLs.

A config is named as in ``_base_``: a path, or ``scope::rel/path.py`` for a
config shipped with an installed package (``mmdet::faster_rcnn/faster-rcnn_
r101_fpn_2x_coco.py``). MMEngine resolves such a name to
``<package>/.mim/configs/<rel/path.py>``; :func:`resolve_config` does the
same, without installing anything, and says what is wrong when it cannot.
A checkpoint is a path or an ``http(s)://`` URL; MMEngine's loader downloads
a URL once (rank 0 first) into torch's hub cache (``$TORCH_HOME``).
"""
import difflib
import glob
import importlib.util
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.fileio import load

from .errors import CheckpointError, ConfigError, MissingFileError

URL_PREFIXES = ('http://', 'https://')


def is_scoped(name: str) -> bool:
    """Whether ``name`` is a ``scope::path`` config name."""
    return isinstance(name, str) and '::' in name


def is_url(path: str) -> bool:
    """Whether a checkpoint ``path`` is an ``http(s)://`` URL."""
    return isinstance(path, str) and path.startswith(URL_PREFIXES)


def package_config_dir(scope: str, key: str, name: str) -> str:
    """``<package>/.mim/configs`` of the installed package of ``scope``."""
    if scope not in MODULE2PACKAGE:
        raise ConfigError(
            f'{key}={name!r}: unknown scope {scope!r}; configs can be named '
            f'as scope::path for {sorted(MODULE2PACKAGE)}, or by a file path')
    spec = importlib.util.find_spec(scope)
    if spec is None or spec.origin is None:
        raise ConfigError(
            f'{key}={name!r}: the package of scope {scope!r} is not '
            f'installed; pip install {MODULE2PACKAGE[scope]}, or give a path '
            'to the config file')
    return osp.join(osp.dirname(spec.origin), '.mim', 'configs')


def _close_configs(root: str, rel: str) -> str:
    """`` (did you mean ...?)`` with the closest configs of ``root``."""
    found = [
        osp.relpath(path, root)
        for path in glob.glob(osp.join(root, '**', '*.py'), recursive=True)
    ]
    close = difflib.get_close_matches(rel, found, n=3, cutoff=0.8)
    return f' (did you mean {", ".join(close)}?)' if close else ''


def resolve_config(name: str, key: str = 'config') -> str:
    """The file a config name stands for, as MMEngine's ``_base_`` finds it.

    Args:
        name (str): A path, or ``scope::rel/path.py``.
        key (str): The config key or argument that holds ``name``, for the
            messages (e.g. ``'model.teacher'``).

    Raises:
        MissingFileError: no such file (the message names it).
        ConfigError: an unknown scope or a package that is not installed.
    """
    if not is_scoped(name):
        if not osp.isfile(name):
            raise MissingFileError(
                f'{key}={name!r}: no such config file; give a path to a '
                'config, a scope::path name (e.g. mmdet::faster_rcnn/'
                'faster-rcnn_r50_fpn_1x_coco.py) or a detector dict')
        return name
    scope, _, rel = name.partition('::')
    root = package_config_dir(scope, key, name)
    path = osp.join(root, rel)
    if not osp.isfile(path):
        raise MissingFileError(
            f'{key}={name!r}: {scope} has no config {rel!r} (looked in '
            f'{root}){_close_configs(root, rel)}')
    return path


def load_config_file(name: str, key: str = 'config') -> Config:
    """``Config.fromfile`` of a path or ``scope::`` name; a config that does
    not parse is a ``ConfigError`` naming it."""
    path = resolve_config(name, key)
    try:
        return Config.fromfile(path)
    except Exception as exc:  # noqa: BLE001 - re-raised with the name
        raise ConfigError(f'{key}={name!r}: cannot read the config '
                          f'({type(exc).__name__}: {exc})') from exc


def zoo_checkpoint_url(name: str) -> Optional[str]:
    """The model-zoo checkpoint URL of a ``scope::`` config (``Weights`` of
    its entry in the folder's ``metafile.yml``); None if there is none."""
    if not is_scoped(name):
        return None
    scope, _, rel = name.partition('::')
    root = package_config_dir(scope, 'config', name)
    metafile = osp.join(root, osp.dirname(rel), 'metafile.yml')
    if not osp.isfile(metafile):
        return None
    for model in load(metafile).get('Models', []):
        if model.get('Config') == f'configs/{rel}':
            return model.get('Weights')
    return None


def read_checkpoint(path: str, key: str = 'checkpoint') -> dict:
    """Load a checkpoint file or URL on CPU with MMEngine's loader.

    Raises:
        MissingFileError: a local ``path`` that does not exist.
        CheckpointError: the file cannot be read, or the URL cannot be
            fetched; the message names it and what to do.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    if not is_url(path) and not osp.isfile(path):
        raise MissingFileError(f'{key}={path!r}: no such file')
    try:
        return _load_checkpoint(path, map_location='cpu')
    except Exception as exc:  # noqa: BLE001 - re-raised with the path
        if is_url(path):
            raise CheckpointError(
                f'{key}={path!r} cannot be downloaded or read '
                f'({type(exc).__name__}: {exc}); download it (e.g. wget -P '
                f'checkpoints/ {path}) and set {key} to the file') from exc
        from mmkd.engine.checkpoint import unreadable
        raise unreadable(f'{key}={path!r}', exc) from exc
