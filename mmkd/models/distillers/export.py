"""Exporting the student of a distillation run as a plain MMDetection model.

The exported checkpoint holds only the student's weights (no teacher, no
adaptation layers) under MMDetection's usual keys, and the exported config
is the student's detector config in MMDetection's scope, so
``mmdet.apis.init_detector`` loads it without mmkd's distiller - and, for a
student built of MMDetection's modules only, without mmkd at all.
"""
import copy
from typing import List, Optional

from mmengine.config import Config
from mmengine.utils import get_object_from_string

STUDENT_PREFIX = 'student.'

DISTILLER_PREFIXES = (STUDENT_PREFIX, 'adapters.', 'data_preprocessor.')


def strip_ddp_prefix(state_dict: dict) -> dict:
    """``state_dict`` without the ``module.`` prefix DDP wrappers add."""
    return {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in state_dict.items()
    }


def is_distiller_state(state_dict: dict) -> bool:
    """Whether every key is a ``TwoStageDistiller``'s (student, adapters,
    data preprocessor)."""
    return bool(state_dict) and all(
        k.startswith(DISTILLER_PREFIXES) for k in state_dict)


def student_state_dict(state_dict: dict) -> dict:
    """The ``student.*`` entries of a distiller state dict, unprefixed.

    Raises:
        ValueError: nothing in ``state_dict`` belongs to a student.
    """
    state_dict = strip_ddp_prefix(state_dict)
    student = {
        k[len(STUDENT_PREFIX):]: v
        for k, v in state_dict.items() if k.startswith(STUDENT_PREFIX)
    }
    if not student:
        raise ValueError(
            'no `student.*` weights in this checkpoint: it is not a '
            'TwoStageDistiller checkpoint (a plain detector checkpoint needs '
            'no extraction)')
    return student


def student_checkpoint(checkpoint: dict, source: str = '') -> dict:
    """A plain MMDetection checkpoint of the student of ``checkpoint``."""
    meta = checkpoint.get('meta', {}) or {}
    out_meta = {
        k: copy.deepcopy(meta[k])
        for k in ('dataset_meta', 'epoch', 'iter', 'mmengine_version')
        if k in meta
    }
    out_meta['extracted_from'] = source
    return dict(
        state_dict=student_state_dict(
            checkpoint.get('state_dict', checkpoint)),
        meta=out_meta)


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
# hooks that only make mmkd's own runs resumable, and metrics with an
# MMDetection equivalent (FastCocoMetric gives CocoMetric's numbers).
TRAINING_ONLY_HOOKS = ('RNGStateHook', )
MMDET_EQUIVALENTS = {'FastCocoMetric': 'CocoMetric'}


def _short_name(model_type) -> str:
    name = getattr(model_type, '__name__', model_type)
    return name.split('.')[-1] if isinstance(name, str) else str(name)


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
    """``(class, has_mmdet_twin)`` of an mmkd registration named ``name``;
    ``(None, False)`` when mmkd registers no such name."""
    from mmengine.registry import Registry

    from mmkd import registry
    for reg in vars(registry).values():
        if not isinstance(reg, Registry) or reg.scope != 'mmkd':
            continue
        reg.import_from_location()
        cls = reg.module_dict.get(name)
        if cls is not None:
            return cls, reg.parent.get(name) is not None
    return None, False


def plain_type(model_type, imports: List[str]) -> str:
    """The ``type`` in MMDetection's scope: a registry name, or
    ``mmkd.<Name>`` (its module appended to ``imports``) for a module only
    mmkd has."""
    cls = _as_class(model_type)
    name = _short_name(model_type)
    if cls is not None and not cls.__module__.startswith('mmkd.'):
        return name  # MMDetection's, MMEngine's or torch's, by its name
    if name in MMDET_EQUIVALENTS:
        return MMDET_EQUIVALENTS[name]
    mmkd_cls, twin = _mmkd_class(name)
    if (cls is None and mmkd_cls is None) or twin:
        # MMDetection's own, or mmkd's variant of it (AMP-safe RPNHead,
        # checked CocoDataset) that behaves the same outside training
        return name
    imports.append((cls or mmkd_cls).__module__)
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
            if _short_name(hook.get('type')) not in TRAINING_ONLY_HOOKS
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
