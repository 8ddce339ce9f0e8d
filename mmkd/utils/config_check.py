"""Loading and checking configs with errors that speak to the user."""
import difflib
import inspect
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction

from .errors import ConfigError


def load_config(path: str, cfg_options: dict = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides.

    Raises:
        SystemExit: the file does not exist or does not parse, with the path
            and the parser's reason in the message.
    """
    if not osp.isfile(path):
        raise SystemExit(f'error: config file {path!r} does not exist')
    try:
        cfg = Config.fromfile(path)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise SystemExit(f'error: cannot read config {path!r}: {exc}') from exc
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_cfg(config: str, options: list) -> Config:
    """``load_config`` with ``--cfg-options``-style ``key=value`` strings."""
    return load_config(
        config, {
            key: DictAction._parse_iterable(value)
            for key, value in (opt.split('=', 1) for opt in options)
        })


def _typed_dicts(node, path: str):
    """``(key path, dict)`` of every dict with a string ``type`` in
    ``node``, depth first."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield path, node
        for key, value in node.items():
            yield from _typed_dicts(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _typed_dicts(value, f'{path}[{i}]')


def _arguments(cls) -> Optional[list]:
    """The keyword arguments of ``cls``; None if it takes ``**kwargs``."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [
        p.name for p in params
        if p.name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                           p.KEYWORD_ONLY)
    ]


def check_model_config(model_cfg: dict, prefix: str = 'model') -> None:
    """Refuse keys that mmkd's own modules do not take.

    MMEngine passes every key of a module's config to its constructor, so a
    misspelt key fails deep inside the build with a ``TypeError`` that does
    not say where in the config it is. This checks every dict under
    ``model_cfg`` whose ``type`` is an mmkd model (the distiller, adapters,
    losses, backbones) against that class's arguments. MMDetection's own
    modules are left to MMDetection.

    Raises:
        ConfigError: names the key (e.g. ``model.adapters[0].foo``), the
            class and the arguments it takes.
    """
    from mmkd.registry import MODELS
    for path, node in _typed_dicts(model_cfg, prefix):
        cls = MODELS.get(node['type'])
        if cls is None or not cls.__module__.startswith('mmkd.'):
            continue
        valid = _arguments(cls)
        if valid is None:
            continue
        for key in node:
            if key in ('type', '_scope_') or key in valid:
                continue
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f' (did you mean {close[0]!r}?)' if close else ''
            raise ConfigError(
                f'{path}.{key}={node[key]!r}: {cls.__name__} has no argument '
                f'{key!r}{hint}; remove it or use one of: '
                f'{", ".join(valid)}')
