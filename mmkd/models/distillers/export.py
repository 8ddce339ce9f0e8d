"""Exporting the student of a distillation run as a plain MMDetection model.

The exported checkpoint holds only the student's weights (no teacher, no
adaptation layers) under MMDetection's usual keys, and the exported config
is the student's detector config, so ``mmdet.apis.init_detector`` loads it
without mmkd's distiller.
"""
import copy
from typing import Optional

from mmengine.config import Config

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


def student_config(cfg: Config) -> Config:
    """The distillation config with ``model`` replaced by its student."""
    if not is_distiller(cfg.model):
        raise ValueError(
            f"the config's model is {cfg.model.get('type')!r}, not a "
            'TwoStageDistiller: it already describes a plain detector')
    out = copy.deepcopy(cfg)
    out.model = copy.deepcopy(cfg.model.student)
    return out
