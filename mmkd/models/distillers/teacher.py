"""Building, loading and checking the teacher of a distiller.

The teacher is an ordinary MMDetection detector, built from a config dict or
from a path to a config file, with its checkpoint loaded on CPU. These
helpers also hold the build-time checks that tell the user, before any
training, that the teacher and the student cannot be paired.
"""
import os.path as osp
import warnings
from typing import Union

import torch
from mmengine.config import ConfigDict
from torch import nn

from mmkd.engine.checkpoint import check_state_dict
from mmkd.models.distillers.export import (is_distiller_state,
                                           strip_ddp_prefix,
                                           student_state_dict)
from mmkd.registry import MODELS
from mmkd.utils.config_paths import is_url, load_config_file, read_checkpoint
from mmkd.utils.errors import ConfigError, MissingFileError


def teacher_config(teacher: Union[str, dict]) -> ConfigDict:
    """The teacher's model config: a dict, a config file path or a
    ``scope::path`` config name (``mmdet::faster_rcnn/...``, resolved as
    MMEngine resolves ``_base_``)."""
    if isinstance(teacher, str):
        return load_config_file(teacher, key='model.teacher').model
    if not isinstance(teacher, dict) or 'type' not in teacher:
        raise TypeError(
            f'model.teacher must be a detector dict with a `type` or a path '
            f'to a config file, got {type(teacher).__name__}')
    return ConfigDict(teacher)


def _teacher_state_dict(state_dict: dict) -> dict:
    """Unwrap DDP's ``module.``; take the student of a distiller checkpoint
    (a distilled student can teach)."""
    state_dict = strip_ddp_prefix(state_dict)
    if is_distiller_state(state_dict):
        return student_state_dict(state_dict)
    return state_dict


def load_teacher_checkpoint(teacher: nn.Module, path: str) -> None:
    """Load ``path`` into ``teacher`` on CPU, refusing key mismatches.

    Raises:
        MissingFileError: (a ``FileNotFoundError``) the file does not exist.
        CheckpointError: (a ``RuntimeError``) the file cannot be read, or its
            keys or shapes do not match the teacher; the message says how
            many and which.
    """
    if not is_url(path) and not osp.isfile(path):
        raise MissingFileError(
            f'model.teacher_ckpt={path!r}: no such file; train the teacher '
            'first (tools/train.py TEACHER_CONFIG) and point teacher_ckpt at '
            'its checkpoint')
    # A file or an http(s) URL (e.g. a model-zoo checkpoint, downloaded once
    # into torch's hub cache by MMEngine's loader).
    checkpoint = read_checkpoint(path, key='model.teacher_ckpt')
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = _teacher_state_dict(state_dict)
    check_state_dict(
        teacher.state_dict(),
        state_dict,
        source=f'model.teacher_ckpt={path!r}',
        target='teacher',
        fix='Check that teacher and teacher_ckpt describe the same detector.')
    teacher.load_state_dict(state_dict, strict=True)


def build_teacher(teacher: Union[str, dict], ckpt: str) -> nn.Module:
    """Build the frozen teacher, loaded on CPU and in eval mode."""
    model = MODELS.build(teacher_config(teacher))
    if ckpt is None:
        # No init_weights(): it would load the teacher config's own
        # Pretrained init_cfg, which tests and benchmarks do not have.
        warnings.warn('TwoStageDistiller: teacher_ckpt is None, the teacher '
                      'keeps its random initialisation (only for tests)')
    else:
        load_teacher_checkpoint(model, ckpt)
    model.requires_grad_(False)
    return model.eval()


def check_pairing(student: nn.Module, teacher: nn.Module, *, rpn_kd: bool,
                  input_scale: float) -> None:
    """Checks that need both detectors built; raise ``ConfigError`` (a
    ``ValueError``)."""
    for name, det in (('student', student), ('teacher', teacher)):
        if not (getattr(det, 'with_rpn', False)
                and getattr(det, 'with_roi_head', False)):
            raise ConfigError(
                f'TwoStageDistiller: the {name} ({type(det).__name__}) needs '
                'an RPN and a RoI head (a two-stage detector such as '
                'FasterRCNN)')
    s_classes = student.roi_head.bbox_head.num_classes
    t_classes = teacher.roi_head.bbox_head.num_classes
    if s_classes != t_classes:
        raise ConfigError(
            f'TwoStageDistiller: student num_classes={s_classes} but teacher '
            f'num_classes={t_classes}; both roi_head.bbox_head.num_classes '
            'must be the same (same dataset classes)')
    if rpn_kd:
        _check_anchors(student.rpn_head, teacher.rpn_head, input_scale)


def _check_anchors(s_head: nn.Module, t_head: nn.Module,
                   input_scale: float) -> None:
    fix = ('give both the same rpn_head.anchor_generator, or disable RPN '
           "distillation with distill_losses=dict(rpn_kd=None, rpn_reg=None)")
    if input_scale != 1.0:
        raise ConfigError(
            f'TwoStageDistiller: RPN distillation is per anchor and needs '
            f'teacher and student on the same anchor grid, but '
            f'teacher_input_scale={input_scale}; {fix}')
    s_gen, t_gen = s_head.prior_generator, t_head.prior_generator
    s_desc = (s_gen.strides, s_gen.num_base_priors)
    t_desc = (t_gen.strides, t_gen.num_base_priors)
    same = s_desc == t_desc and all(
        torch.equal(a, b)
        for a, b in zip(s_gen.base_anchors, t_gen.base_anchors))
    if not same:
        raise ConfigError(
            f'TwoStageDistiller: RPN distillation needs the same anchors, '
            f'but the student has strides/anchors per location {s_desc} and '
            f'the teacher {t_desc} (or different anchor scales/ratios); '
            f'{fix}')
    if s_head.use_sigmoid_cls != t_head.use_sigmoid_cls:
        raise ConfigError(
            'TwoStageDistiller: student and teacher RPN heads disagree on '
            'loss_cls.use_sigmoid; use the same RPN classification loss')
