"""Exporting the student of a distillation run as a plain MMDetection model.

The exported checkpoint holds only the student's weights (no teacher, no
adaptation layers) under MMDetection's usual keys
(:func:`mmkd.engine.checkpoint.student_checkpoint`), and the exported
config is the student's detector config in MMDetection's scope, so
``mmdet.apis.init_detector`` loads it without mmkd's distiller - and, for a
student built of MMDetection's modules only, without mmkd at all.
"""
import copy
from typing import List, Optional

from mmengine.config import Config
from mmengine.utils import get_object_from_string

from mmkd.engine.config_check import type_name


def is_distiller(model_cfg: dict) -> bool:
    """Whether a model config is a ``TwoStageDistiller`` (its ``type`` a
    name, scoped or not, or the class of a pure-Python config)."""
    model_type = model_cfg.get('type') if model_cfg else None
    name = getattr(model_type, '__name__', model_type)
    return isinstance(name, str) and name.split('.')[-1] == 'TwoStageDistiller'


def deployed_model_cfg(model_cfg: dict) -> dict:
    """The detector that is deployed: the student of a distiller, else the
    model itself (a copy)."""
    return copy.deepcopy(
        model_cfg['student'] if is_distiller(model_cfg) else model_cfg)


def teacher_model_cfg(model_cfg: dict) -> Optional[dict]:
    """The teacher detector of a distiller config (None otherwise)."""
    if not is_distiller(model_cfg):
        return None
    from .teacher import teacher_config
    return copy.deepcopy(teacher_config(model_cfg['teacher']))


# mmkd types of a training run that an exported config does without:
# hooks that only make mmkd's own runs resumable or faster.
TRAINING_ONLY_HOOKS = ('RNGStateHook', 'ChannelsLastHook')
# mmkd types and the MMDetection / MMEngine / MMCV type an exported config
# names instead: mmkd's variants, which behave the same outside training
# (AMP-safe heads, checked dataset and image loading, the schedule hook
# that knows skipped batches), and a metric and an operator with the same
# numbers.
MMDET_EQUIVALENTS = {
    'SeparableRoIAlign': 'RoIAlign',
    'AmpSafeRPNHead': 'RPNHead',
    'AmpSafeRoIExtractor': 'SingleRoIExtractor',
    'CheckedCocoDataset': 'CocoDataset',
    'CheckedLoadImageFromFile': 'LoadImageFromFile',
    'SkipAwareParamSchedulerHook': 'ParamSchedulerHook',
    'FastCocoMetric': 'CocoMetric',
}


def _as_class(model_type):
    """The class of a ``type``: a class, an import path (how MMEngine dumps
    a pure-Python config's classes) or None for a registry name."""
    if not isinstance(model_type, str):
        return model_type
    if '.' not in model_type:
        return None
    try:
        return get_object_from_string(model_type)
    except Exception:  # noqa: BLE001 - a scoped name such as 'mmdet.X'
        return None


def _mmkd_class(name: str):
    """The mmkd class registered as ``name`` (None if mmkd has none)."""
    from mmengine.registry import Registry

    from mmkd import registry
    for reg in vars(registry).values():
        if not isinstance(reg, Registry) or reg.scope != 'mmkd':
            continue
        reg.import_from_location()
        cls = reg.module_dict.get(name)
        if cls is not None:
            return cls
    return None


def plain_type(model_type, imports: List[str]) -> str:
    """The ``type`` in MMDetection's scope: a registry name (MMDetection's
    for mmkd's variants, see ``MMDET_EQUIVALENTS``), or ``mmkd.<Name>`` (its
    module appended to ``imports``) for a module only mmkd has."""
    cls = _as_class(model_type)
    name = type_name(model_type)
    if cls is not None and not cls.__module__.startswith('mmkd.'):
        return name  # MMDetection's, MMEngine's or torch's, by its name
    if name in MMDET_EQUIVALENTS:
        return MMDET_EQUIVALENTS[name]
    mmkd_cls = cls or _mmkd_class(name)
    if mmkd_cls is None:
        return name  # MMDetection's own
    imports.append(mmkd_cls.__module__)
    return f'mmkd.{name}'


def _plain_types(node, imports: List[str]):
    if isinstance(node, dict):
        out = {k: _plain_types(v, imports) for k, v in node.items()}
        if 'type' in out:
            out['type'] = plain_type(out['type'], imports)
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(_plain_types(v, imports) for v in node)
    return node


def _drop_training_only(cfg: dict) -> None:
    """mmkd's resumable-run hook, non-finite loss guard and atomic
    checkpoint backend."""
    (cfg.get('default_hooks') or {}).pop('nonfinite', None)
    if 'custom_hooks' in cfg:
        cfg['custom_hooks'] = [
            hook for hook in cfg['custom_hooks']
            if type_name(hook.get('type')) not in TRAINING_ONLY_HOOKS
        ]
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if (checkpoint.get('backend_args') or {}).get('backend') == \
            'atomic_local':
        checkpoint.pop('backend_args')


def student_config(cfg: Config) -> Config:
    """The student of a distillation config as a config that stands alone.

    ``model`` is the student; ``default_scope`` is ``'mmdet'``; types only
    mmkd has (the paper's trunks, KittiMetric) are written ``mmkd.<Name>``
    and their modules, and only those, are in ``custom_imports``; mmkd's
    training-only runtime (RNG-state hook, non-finite loss guard, atomic
    checkpoints) and the distillation weights are left out. A student of
    MMDetection's modules then loads where only MMDetection is installed.
    Classic and pure-Python configs give the same (classic) config.
    """
    if not is_distiller(cfg.model):
        raise ValueError(
            f"the config's model is {cfg.model.get('type')!r}, not a "
            'TwoStageDistiller: it already describes a plain detector')
    data = cfg.to_dict()
    data.pop('distiller', None)  # chen2017.py's terms: training only
    data['model'] = data['model']['student']
    _drop_training_only(data)
    imports = [
        name for name in (
            data.pop('custom_imports', None) or {}).get('imports', [])
        if not name.split('.')[0] == 'mmkd'
    ]
    data = _plain_types(data, imports)
    data['default_scope'] = 'mmdet'
    if imports:
        data['custom_imports'] = dict(
            imports=sorted(set(imports)), allow_failed_imports=False)
    return Config(data)
