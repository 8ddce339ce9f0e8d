"""Building, loading and checking the teacher of a distiller.

The teacher is an ordinary MMDetection detector, built from a config dict or
from a path to a config file, with its checkpoint loaded on CPU. These
helpers also hold the build-time checks that tell the user, before any
training, that the teacher and the student cannot be paired.
"""
import hashlib
import logging
import os.path as osp
import warnings
from typing import Optional, Union

import torch
from mmengine.config import ConfigDict
from torch import nn

from mmkd.datasets.classes import dataset_classes
from mmkd.engine.checkpoint import (check_state_dict, checkpoint_state_dict,
                                    is_distiller_state, read_checkpoint,
                                    student_state_dict)
from mmkd.registry import MODELS
from mmkd.utils.config_paths import is_url, load_config_file
from mmkd.utils.errors import ConfigError, MissingFileError
from .roi_seams import roi_seam, stage_teachers
from .roi_seams.pairing import check_coding


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


def _teacher_state_dict(checkpoint: dict) -> dict:
    """The checkpoint's weights without DDP's ``module.``; the student's
    of a distiller checkpoint (a distilled student can teach)."""
    state_dict = checkpoint_state_dict(checkpoint)
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
    checkpoint = read_checkpoint(path, 'model.teacher_ckpt')
    state_dict = _teacher_state_dict(checkpoint)
    check_state_dict(
        teacher.state_dict(),
        state_dict,
        source=f'model.teacher_ckpt={path!r}',
        target='teacher',
        fix='Check that teacher and teacher_ckpt describe the same detector.')
    teacher.load_state_dict(state_dict, strict=True)


def build_teacher(teacher: Union[str, dict],
                  ckpt: Optional[str],
                  *,
                  random_teacher: bool = False) -> nn.Module:
    """Build the frozen teacher, loaded on CPU and in eval mode.

    Raises:
        ConfigError: no checkpoint without ``random_teacher`` (the student
            would be distilled from a random network), or a checkpoint with
            it.
    """
    check_teacher_source(ckpt, random_teacher)
    model = MODELS.build(teacher_config(teacher))
    if random_teacher:
        # No init_weights(): it would load the teacher config's own
        # Pretrained init_cfg, which tests and benchmarks do not have.
        from mmengine.logging import print_log
        print_log(
            'TwoStageDistiller: random_teacher=True, the teacher keeps its '
            'random initialisation: this run tests or times the mechanics, '
            'its student learns nothing from the teacher',
            logger='current',
            level=logging.WARNING)
    else:
        load_teacher_checkpoint(model, ckpt)
    model.requires_grad_(False)
    return model.eval()


def check_teacher_source(ckpt: Optional[str], random_teacher: bool) -> None:
    """A teacher checkpoint, or ``random_teacher=True``, not both."""
    if random_teacher is not True and random_teacher is not False:
        raise ConfigError(
            f'TwoStageDistiller: random_teacher={random_teacher!r} must be '
            'True or False')
    if random_teacher and ckpt:
        raise ConfigError(
            f'TwoStageDistiller: model.teacher_ckpt={ckpt!r} and '
            'model.random_teacher=True contradict each other; remove '
            'random_teacher to distil from the checkpoint')
    if not random_teacher and not ckpt:
        raise ConfigError(
            f'TwoStageDistiller: model.teacher_ckpt={ckpt!r}: no teacher '
            'checkpoint, so the teacher would keep its random '
            'initialisation and the student would be distilled from noise; '
            'train the teacher first (tools/train.py TEACHER_CONFIG) and '
            'set model.teacher_ckpt to its checkpoint, e.g. --cfg-options '
            'model.teacher_ckpt=work_dirs/TEACHER/epoch_12.pth')


def check_pairing(student: nn.Module, teacher: nn.Module, *, terms: set,
                  input_scale: float) -> tuple:
    """Checks that need both detectors built, for the enabled ``terms``;
    raise ``ConfigError`` (a ``ValueError``) naming both values.

    Returns:
        tuple: the student's and the teacher's RoI-head seams and, per
        student stage, its ``StageTeacher`` (or None).
    """
    for name, det in (('student', student), ('teacher', teacher)):
        check_two_stage(name, det)
    s_roi = roi_seam(student.roi_head, 'student')
    t_roi = roi_seam(teacher.roi_head, 'teacher')
    plans = stage_teachers(s_roi, t_roi, terms)
    if terms & {'rpn_kd', 'rpn_reg'}:
        _check_anchors(student.rpn_head, teacher.rpn_head, input_scale)
    if 'rpn_reg' in terms:
        check_coding('rpn_head', student.rpn_head, teacher.rpn_head, 'rpn_reg')
    return s_roi, t_roi, plans


def check_two_stage(name: str, det: nn.Module) -> None:
    """An RPN of MMDetection's anchor-based kind and a RoI head."""
    from mmdet.models.dense_heads import RPNHead
    if not (getattr(det, 'with_rpn', False)
            and getattr(det, 'with_roi_head', False)):
        raise ConfigError(
            f'TwoStageDistiller: the {name} ({type(det).__name__}) needs '
            'an RPN and a RoI head (a two-stage detector such as '
            'FasterRCNN): one-stage detectors have no RoIs for the '
            "teacher's RoI head to score")
    if not isinstance(det.rpn_head, RPNHead):
        raise ConfigError(
            f"TwoStageDistiller: the {name}'s rpn_head is a "
            f'{type(det.rpn_head).__name__}, which cannot be distilled: the '
            "RPN terms and the student's proposals need MMDetection's "
            'anchor-based RPNHead (Faster, Mask and Cascade R-CNN have one)')


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


def teacher_classes(teacher: Union[str, dict]) -> Optional[tuple]:
    """The class names of the teacher's training set, from its config file
    (``train_dataloader``'s dataset metainfo, or its type's defaults);
    None when ``teacher`` is a dict or the file does not say."""
    if not isinstance(teacher, str):
        return None
    try:  # a path or a model-zoo name such as mmdet::...
        dataset = load_config_file(teacher).train_dataloader.dataset
    except Exception:  # noqa: BLE001 - no dataset, no check
        return None
    return dataset_classes(dataset)


def check_classes(student: Optional[tuple], teacher: Optional[tuple],
                  source: str) -> None:
    """Refuse class names, or an order, that differ between the training
    set and the teacher (``source`` says where its classes come from); an
    unknown side passes."""
    if student is None or teacher is None:
        return
    student, teacher = tuple(student), tuple(teacher)
    if student == teacher:
        return
    kind = ('the same classes in another order'
            if sorted(student) == sorted(teacher) else 'different classes')
    i = next((i for i, (a, b) in enumerate(zip(student, teacher)) if a != b),
             min(len(student), len(teacher)))
    raise ConfigError(
        f'TwoStageDistiller: the training set and the teacher ({source}) '
        f'have {kind}: class {i} is {_at(student, i)} for the student and '
        f'{_at(teacher, i)} for the teacher (student: {_short(student)}; '
        f'teacher: {_short(teacher)}). The soft targets and the bound '
        'compare class columns: train the teacher on the same classes in '
        'the same order (the datasets\' metainfo classes)')


def _at(classes: tuple, i: int) -> str:
    return repr(classes[i]) if i < len(classes) else 'missing'


def _short(classes: tuple, limit: int = 6) -> str:
    shown = ', '.join(map(repr, classes[:limit]))
    more = f', ... ({len(classes)} in all)' if len(classes) > limit else ''
    return shown + more


def teacher_fingerprint(teacher: nn.Module) -> str:
    """sha256 (first 16 hex digits) of the teacher's state dict: names,
    dtypes, shapes and values."""
    digest = hashlib.sha256()
    for key, value in teacher.state_dict().items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f'{key}:{tensor.dtype}:{tuple(tensor.shape)};'.encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()[:16]


# The message-hub key under which the distiller records its teacher; the
# runner saves the hub's state in every checkpoint and restores it on resume.
TEACHER_RECORD_KEY = 'distill_teacher'


def check_teacher_record(saved: Optional[dict], current: dict) -> None:
    """Warn when a resumed run's teacher (``saved``, from the checkpoint)
    is not this run's (``current``): ``{'path': ..., 'sha256': ...}``."""
    if not saved or saved.get('sha256') == current['sha256']:
        return
    from mmengine.logging import print_log
    message = (
        'TEACHER CHANGED ON RESUME: the checkpoint was trained with the '
        f"teacher {saved.get('path')!r} (sha256 {saved.get('sha256')}), this "
        f"run loads {current['path']!r} (sha256 {current['sha256']}). The "
        'soft targets, the bound and the hints change mid-training; if this '
        'is not intended, resume with the original model.teacher_ckpt')
    print_log(message, logger='current', level=logging.WARNING)
    warnings.warn(message)
