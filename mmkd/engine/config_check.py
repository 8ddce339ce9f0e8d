"""Loading and checking configs before a run, with errors that speak to the
user (the tools call these before the runner is built)."""
import difflib
import inspect
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction

from mmkd.utils.errors import ConfigError


def load_config(path: str, cfg_options: dict = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides.

    Raises:
        SystemExit: ``error: ...``: the file does not exist or does not
            parse (with the path and the parser's reason), or an option's
            key is misspelt (see :func:`check_cfg_options`).
    """
    if osp.isdir(path):
        raise SystemExit(f'error: config {path!r} is a directory; give a '
                         'config file (.py) in it')
    if not osp.isfile(path):
        raise SystemExit(f'error: config file {path!r} does not exist')
    try:
        cfg = Config.fromfile(path)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        reason = ' '.join(f'{type(exc).__name__}: {exc}'.split())
        raise SystemExit(f'error: cannot read config {path!r} ({reason}); '
                         'fix the file') from exc
    if cfg_options:
        try:
            check_cfg_options(cfg, cfg_options)
            cfg.merge_from_dict(cfg_options)
        except (ConfigError, KeyError, TypeError) as exc:
            message = str(exc).strip('"\'')
            if not isinstance(exc, ConfigError):
                message = f'--cfg-options: {message}; fix the key'
            raise SystemExit(f'error: {message}') from None
    return cfg


def load_cfg(config: str, options: list) -> Config:
    """``load_config`` with ``--cfg-options``-style ``key=value`` strings."""
    return load_config(
        config, {
            key: DictAction._parse_iterable(value)
            for key, value in (opt.split('=', 1) for opt in options)
        })


# Top-level keys a config may add that it does not hold yet: what
# MMEngine's Runner reads (its arguments and these).
_RUNNER_KEYS = ('model_wrapper_cfg', 'runner_type', 'compile',
                'find_unused_parameters', 'gpu_ids', 'auto_scale_lr')


def _runner_keys() -> set:
    from mmengine.runner import Runner
    params = inspect.signature(Runner.__init__).parameters
    return set(params) - {'self'} | set(_RUNNER_KEYS)


def _missing_part(cfg: Config, key: str):
    """``(index, existing keys, in_list)`` of the first part of the dotted
    ``key`` that is not in ``cfg``; None when the whole path exists (or
    passes through something that is neither a dict nor a list)."""
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for i, part in enumerate(key.split('.')):
        if isinstance(node, (list, tuple)) and part.isdigit():
            if int(part) >= len(node):
                return i, len(node), True
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                return i, list(node), False
            node = node[part]
        else:
            return None
    return None


def check_cfg_options(cfg: Config, options: dict) -> None:
    """Refuse ``--cfg-options`` keys that are misspelt.

    A new top-level key must be one the Runner reads; a new nested key must
    not be a near miss of a key next to it (``max_epoch`` beside
    ``max_epochs``); a list index must exist. Without this check the first
    two are silently ignored.

    Raises:
        ConfigError: names the option, the key and the closest existing key.
    """
    for key, value in options.items():
        found = _missing_part(cfg, key)
        if found is None:
            continue
        index, existing, in_list = found
        parts = key.split('.')
        part, where = parts[index], '.'.join(parts[:index]) or 'the config'
        if in_list:
            raise ConfigError(
                f'--cfg-options {key}={value!r}: {where} is a list of '
                f'{existing}; use an index from 0 to {existing - 1}')
        close = difflib.get_close_matches(part, existing, n=1, cutoff=0.75)
        if index == 0 and part in _runner_keys() or index > 0 and not close:
            continue  # a new key, e.g. train_dataloader.dataset.indices
        hint = (f'did you mean {close[0]!r}?'
                if close else 'nor is it a key MMEngine reads')
        raise ConfigError(f'--cfg-options {key}={value!r}: {where} has no '
                          f'key {part!r} ({hint}); fix the key')


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


# Arguments of mmkd modules that moved elsewhere: (class, argument) -> where
# it is set now.
_MOVED = {
    ('TwoStageDistiller', 'nonfinite'):
    ('default_hooks.nonfinite.policy, the non-finite guard of every '
     'training run (detector or distiller): e.g. --cfg-options '
     'default_hooks.nonfinite.policy=skip'),
}


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
            moved = _MOVED.get((cls.__name__, key))
            if moved:
                raise ConfigError(
                    f'{path}.{key}={node[key]!r}: {cls.__name__} no longer '
                    f'takes {key!r}; remove it and set {moved}')
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f' (did you mean {close[0]!r}?)' if close else ''
            raise ConfigError(
                f'{path}.{key}={node[key]!r}: {cls.__name__} has no argument '
                f'{key!r}{hint}; remove it or use one of: '
                f'{", ".join(valid)}')


def _positive_int(value) -> bool:
    return type(value) is int and value > 0


def _natural(value) -> bool:
    return type(value) is int and value >= 0


def _positive_number(value) -> bool:
    return type(value) in (int, float) and 0 < value < float('inf')


def _seed(value) -> bool:
    return value is None or type(value) is int


# Values of the runner's config that MMEngine takes without checking
# (a string epoch count fails deep inside the training loop): key,
# test, what it must be, an example.
_RUN_VALUES = (
    ('train_dataloader.batch_size', _positive_int, 'an integer > 0', 2),
    ('val_dataloader.batch_size', _positive_int, 'an integer > 0', 1),
    ('test_dataloader.batch_size', _positive_int, 'an integer > 0', 1),
    ('train_dataloader.num_workers', _natural, 'an integer >= 0', 2),
    ('val_dataloader.num_workers', _natural, 'an integer >= 0', 2),
    ('test_dataloader.num_workers', _natural, 'an integer >= 0', 2),
    ('train_cfg.max_epochs', _positive_int, 'an integer > 0', 12),
    ('train_cfg.max_iters', _positive_int, 'an integer > 0', 90000),
    ('train_cfg.val_interval', _positive_int, 'an integer > 0', 1),
    ('optim_wrapper.optimizer.lr', _positive_number, 'a number > 0', 0.02),
    ('default_hooks.checkpoint.interval', _positive_int, 'an integer > 0', 1),
    ('default_hooks.logger.interval', _positive_int, 'an integer > 0', 50),
    ('randomness.seed', _seed, 'an integer or None', 0),
)
_MISSING = object()


def _get(cfg, key: str):
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for part in key.split('.'):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def check_run_values(cfg: Config) -> None:
    """Refuse runner values of the wrong type or out of range (batch sizes,
    workers, epochs, intervals, learning rate, seed).

    Raises:
        ConfigError: names the key, the value, what it must be and an
            example.
    """
    for key, valid, what, example in _RUN_VALUES:
        value = _get(cfg, key)
        if value is not _MISSING and not valid(value):
            raise ConfigError(f'{key}={value!r} must be {what}; e.g. '
                              f'--cfg-options {key}={example}')
    work_dir = cfg.get('work_dir')
    if not isinstance(work_dir, str) or not work_dir:
        raise ConfigError(f'work_dir={work_dir!r} must be a directory path; '
                          'give one with --work-dir DIR')


def type_name(node) -> str:
    """The unscoped name of a config dict's ``type`` (or of a ``type``
    itself: a registry name, ``scope.Name``, or a class); '' without one."""
    model_type = node.get('type') if isinstance(node, dict) else node
    name = getattr(model_type, '__name__', model_type)
    return name.split('.')[-1] if isinstance(name, str) else ''
