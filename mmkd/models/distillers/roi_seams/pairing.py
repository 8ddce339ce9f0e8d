"""Which stage of the teacher's RoI head teaches which stage of the
student's, and the checks that their outputs are comparable.

- Single-head student, single-head teacher: the teacher's head teaches.
- Single-head student, cascade teacher: the soft targets are the cascade's
  test-time ensemble on the student's RoIs (its stages run one after the
  other on the boxes the previous stage regressed, and their class logits
  are averaged), the best class estimate the teacher has for each RoI.
  The bounded regression compares deltas, so it takes the first stage
  whose box coding (coder type, means, stds, decoded or not) is the
  student's, run on the student's own RoIs: in MMDetection's cascades
  that is stage 0, trained like a single head on the RPN's proposals.
  The mask term takes the mean of the stages' mask probabilities, the
  cascade's test-time mask.
- Cascade student, cascade teacher with as many stages: stage i learns
  from the teacher's stage i on the student's stage-i RoIs (same IoU
  threshold and, in MMDetection's configs, the same coder).
- Cascade student, single-head teacher: stage 0 gets every RoI term; the
  later stages train on their own losses only. They sample their RoIs at
  higher IoU thresholds (0.6, 0.7) and encode deltas with smaller stds:
  a single head trained at IoU 0.5 would teach them that RoIs they must
  call background are objects, and its deltas are in other units.
"""
from dataclasses import dataclass
from typing import List, Optional, Union

from mmkd.utils.errors import ConfigError
from .base import RoIHeadSeam, box_coding

ENSEMBLE = 'ensemble'


@dataclass(frozen=True)
class StageTeacher:
    """What teaches one stage of the student (None: the term is off there).

    Args:
        cls: the teacher stage whose class logits are the soft targets, or
            ``'ensemble'`` (a cascade's test-time mean over stages).
        reg: the teacher stage whose deltas bound the student's.
        mask: the teacher stage whose mask logits the student's mask head
            matches, or ``'ensemble'``.
    """
    cls: Union[int, str, None] = None
    reg: Optional[int] = None
    mask: Union[int, str, None] = None


def refuse_unless_same(key: str, student, teacher, terms: str) -> None:
    """``ConfigError`` naming ``key`` and both values when they differ."""
    if student != teacher:
        raise ConfigError(
            f'TwoStageDistiller: student and teacher differ in {key}: '
            f'student {student!r}, teacher {teacher!r}; the distillation '
            f'terms compare their outputs in the student\'s units, so give '
            f'both the same {key.split(" ")[0]} or disable '
            f'distill_losses.{terms}')


def check_coding(prefix: str, s_head, t_head, term: str) -> None:
    """The bounded regression compares two heads' deltas with the
    student's targets: they must encode boxes the same way."""
    s_code, t_code = box_coding(s_head), box_coding(t_head)
    refuse_unless_same(
        f'{prefix}.bbox_coder (type, target_means, target_stds)', s_code[:3],
        t_code[:3], term)
    refuse_unless_same(f'{prefix}.reg_decoded_bbox', s_code[3], t_code[3],
                       term)


def stage_teachers(student: RoIHeadSeam, teacher: RoIHeadSeam,
                   terms: set) -> List[Optional[StageTeacher]]:
    """One entry per student stage (None: no teacher for that stage),
    after checking classes, classifiers, box coders and mask heads of
    every pair of stages the enabled ``terms`` compare."""
    if 'mask_kd' in terms:
        for role, seam in (('student', student), ('teacher', teacher)):
            if not seam.with_mask:
                raise ConfigError(
                    f'TwoStageDistiller: distill_losses.mask_kd compares '
                    f"mask logits, but the {role}'s roi_head has no "
                    'mask_head; disable distill_losses.mask_kd or give '
                    f'the {role} a mask head (e.g. Mask R-CNN)')
    plans = _plans(student, teacher, terms)
    for stage, plan in enumerate(plans):
        if plan is not None:
            _check_stage(student, teacher, stage, plan, terms)
    return plans


def _plans(student: RoIHeadSeam, teacher: RoIHeadSeam,
           terms: set) -> List[Optional[StageTeacher]]:
    rcn_kd, rcn_reg = 'rcn_kd' in terms, 'rcn_reg' in terms
    mask = 'mask_kd' in terms
    if student.num_stages == 1 and teacher.num_stages > 1:
        return [
            StageTeacher(
                cls=ENSEMBLE if rcn_kd else None,
                reg=_coded_like(student, teacher) if rcn_reg else None,
                mask=ENSEMBLE if mask else None)
        ]
    if teacher.num_stages == 1:
        first = StageTeacher(
            cls=0 if rcn_kd else None,
            reg=0 if rcn_reg else None,
            mask=0 if mask else None)
        return [first] + [None] * (student.num_stages - 1)
    if teacher.num_stages != student.num_stages:
        raise ConfigError(
            f"TwoStageDistiller: the student's cascade has "
            f"{student.num_stages} stages and the teacher's "
            f'{teacher.num_stages}; stage i learns from the teacher\'s stage '
            'i, so give both the same num_stages, or distil a single-head '
            'student (Faster R-CNN) from this teacher')
    return [
        StageTeacher(
            cls=i if rcn_kd else None,
            reg=i if rcn_reg else None,
            mask=i if mask else None) for i in range(student.num_stages)
    ]


def _coded_like(student: RoIHeadSeam, teacher: RoIHeadSeam) -> int:
    """The first teacher stage that encodes boxes as the student does."""
    wanted = box_coding(student.bbox_head(0))
    found = [
        box_coding(teacher.bbox_head(i)) for i in range(teacher.num_stages)
    ]
    if wanted in found:
        return found.index(wanted)
    raise ConfigError(
        f"TwoStageDistiller: distill_losses.rcn_reg bounds the student's "
        f"box deltas by the teacher's, in the same units, but no stage of "
        f"the teacher's cascade encodes boxes as the student's "
        f'roi_head.bbox_head (bbox coder type, target_means, target_stds, '
        f'reg_decoded_bbox): student {wanted}, teacher stages {found}; give '
        'the student the coder of one stage or disable '
        'distill_losses.rcn_reg')


def _check_stage(student: RoIHeadSeam, teacher: RoIHeadSeam, stage: int,
                 plan: StageTeacher, terms: set) -> None:
    s_head, name = student.bbox_head(stage), student.stage_name(stage)
    used = {plan.cls, plan.reg, plan.mask} - {None}
    t_stages = (
        range(teacher.num_stages) if ENSEMBLE in used else sorted(used))
    for t_stage in t_stages:
        t_head = teacher.bbox_head(t_stage)
        refuse_unless_same(
            f'{name}.num_classes (same dataset classes; teacher '
            f'{teacher.stage_name(t_stage)})', s_head.num_classes,
            t_head.num_classes, 'rcn_kd/rcn_reg/mask_kd')
    if plan.cls is not None:
        for role, head, key in [('student', s_head, name)] + [
            ('teacher', teacher.bbox_head(i), teacher.stage_name(i))
                for i in t_stages
        ]:
            if _sigmoid_cls(head):
                raise ConfigError(
                    f"TwoStageDistiller: the {role}'s RoI head classifies "
                    f'with sigmoids ({key}.loss_cls.use_sigmoid=True), but '
                    'rcn_kd is a softmax over num_classes + 1 columns; use '
                    'a softmax classifier or disable distill_losses.rcn_kd')
    if plan.reg is not None:
        check_coding(name, s_head, teacher.bbox_head(plan.reg), 'rcn_reg')


def _sigmoid_cls(bbox_head) -> bool:
    loss_cls = getattr(bbox_head, 'loss_cls', None)
    return bool(getattr(loss_cls, 'use_sigmoid', False)) or bool(
        getattr(bbox_head, 'custom_cls_channels', False))
