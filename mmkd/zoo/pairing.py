"""Can a teacher be distilled into a student, and how: the decisions a
distillation config records (hint levels, adaptation layers, terms that
cannot apply), each with its reason.

A pair is refused (``ConfigError``) when the paper's method cannot run on
it: a detector that is not a two-stage one with an RPN and a RoI head of a
family the distiller drives (Faster, Mask, Cascade R-CNN), different
classes, or hint levels that do not exist; and a teacher with fewer
parameters than its student unless that is asked for (the method distils a
larger, stronger teacher: the two are most likely given in the wrong
order). Differences the method can live with switch the affected terms off
and say why: other anchors switch the RPN terms off (they are per anchor),
other box encodings the bounded regression (it compares deltas). Other
RoI-head families get a note on what their RoI terms do (a cascade's
stages, a mask head).
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from mmkd.utils.config_paths import load_config_file, zoo_checkpoint_url
from mmkd.utils.errors import ConfigError
from .probe import (FeatureLevel, anchors_desc, build_detector, coder_desc,
                    feature_levels, normalisation, roi_box_desc, train_classes)

# --method: the configs/_base_/distill/ files of each method (their variable
# is `distiller` for chen2017.py, the method's name for the others), and the
# method's name in the header.
METHODS = {
    'chen2017': (('chen2017', ), 'Chen et al., NIPS 2017'),
    'fitnets': (('fitnets', ), 'FitNets, Romero et al., ICLR 2015: the hint '
                'alone'),
    'pkd': (('pkd', ), 'PKD, Cao et al., NeurIPS 2022'),
    'cwd': (('cwd', ), 'CWD, Shu et al., ICCV 2021'),
    'chen2017+pkd': (('chen2017', 'pkd'), 'Chen et al., NIPS 2017, plus PKD '
                     'of Cao et al., NeurIPS 2022'),
}


def has_paper_terms(method: str) -> bool:
    """Whether ``method`` trains the paper's RPN and RoI terms."""
    return 'chen2017' in METHODS[method][0]


@dataclass
class Detector:
    """A config name, its config, the built detector and its levels."""
    name: str
    cfg: Config
    model: object
    levels: List[FeatureLevel]


@dataclass
class KDPlan:
    """What the written config says, and why.

    Args:
        teacher, student (Detector): The pair.
        teacher_ckpt (str): Checkpoint path or URL of the teacher.
        ckpt_note (str): Where ``teacher_ckpt`` comes from.
        hints (list[tuple[FeatureLevel, FeatureLevel]]): (student, teacher)
            level pairs.
        hint_note (str): How the pairs were chosen.
        off (dict): Distillation terms switched off -> reason.
        notes (list[str]): Further facts worth a comment.
        method (str): A key of :data:`METHODS`.
    """
    teacher: Detector
    student: Detector
    teacher_ckpt: str
    ckpt_note: str
    hints: List[Tuple[FeatureLevel, FeatureLevel]]
    hint_note: str
    off: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    method: str = 'chen2017'


def _refuse(teacher: str, student: str, reason: str) -> ConfigError:
    return ConfigError(f'cannot distil {teacher} into {student}: {reason}')


def load_detector(name: str, role: str) -> Detector:
    """Load, check and build the detector config ``name`` (the teacher or
    the student), and probe its feature levels."""
    from mmkd.models.distillers.export import is_distiller
    from mmkd.models.distillers.roi_seams import roi_seam
    cfg = load_config_file(name, key=role)
    if is_distiller(cfg.model):
        raise ConfigError(
            f'{role}={name!r} is a distillation config; give the config of '
            f'the {role.lower()} detector (e.g. its baseline)')
    model = build_detector(cfg.model)
    if not (getattr(model, 'with_rpn', False)
            and getattr(model, 'with_roi_head', False)):
        raise ConfigError(
            f'{role}={name!r} is a {type(model).__name__}: the method needs '
            'a two-stage detector with an RPN and a RoI head (Faster, Mask '
            "or Cascade R-CNN), whose RoI head can run on the student's "
            'RoIs')
    try:
        roi_seam(model.roi_head, role.lower())
    except ConfigError as exc:
        raise ConfigError(f'{role}={name!r}: {exc}') from None
    return Detector(name, cfg, model, feature_levels(model))


def seams(teacher: Detector, student: Detector) -> tuple:
    """The RoI-head seams of the pair (student, teacher)."""
    from mmkd.models.distillers.roi_seams import roi_seam
    return (roi_seam(student.model.roi_head,
                     'student'), roi_seam(teacher.model.roi_head, 'teacher'))


def check_classes(teacher: Detector, student: Detector) -> None:
    """Same number of classes, and the same names in the same order when
    both configs say them."""
    s_roi, t_roi = seams(teacher, student)
    t_num = t_roi.bbox_head(0).num_classes
    s_num = s_roi.bbox_head(0).num_classes
    if t_num != s_num:
        raise _refuse(
            teacher.name, student.name,
            f'the teacher has {t_num} classes, the student {s_num}; the soft '
            'targets need the same classes (retrain one on the '
            "other's dataset)")
    t_cls, s_cls = train_classes(teacher.cfg), train_classes(student.cfg)
    if t_cls and s_cls and t_cls != s_cls:
        first = next(i for i, (a, b) in enumerate(zip(t_cls, s_cls)) if a != b)
        raise _refuse(
            teacher.name, student.name,
            f'their datasets name the classes differently (class {first}: '
            f'teacher {t_cls[first]!r}, student {s_cls[first]!r}); the soft '
            'targets need the same classes in the same order')


def switched_off_terms(teacher: Detector, student: Detector) -> dict:
    """Terms that cannot apply to the pair -> why."""
    t, s = teacher.model, student.model
    off = {}
    if anchors_desc(t) != anchors_desc(s):
        reason = ('the RPNs use different anchors (strides, scales or '
                  'ratios), and the RPN terms are per anchor')
        off.update(rpn_kd=reason, rpn_reg=reason)
    elif t.rpn_head.use_sigmoid_cls != s.rpn_head.use_sigmoid_cls:
        reason = 'one RPN classifies with a sigmoid, the other a softmax'
        off.update(rpn_kd=reason, rpn_reg=reason)
    elif coder_desc(t.rpn_head.bbox_coder) != coder_desc(
            s.rpn_head.bbox_coder):
        off['rpn_reg'] = (
            f'the RPN box coders differ (teacher '
            f'{coder_desc(t.rpn_head.bbox_coder)}, student '
            f'{coder_desc(s.rpn_head.bbox_coder)}): deltas in other units')
    from mmkd.models.distillers.roi_seams import stage_teachers
    s_roi, t_roi = seams(teacher, student)
    try:
        stage_teachers(s_roi, t_roi, {'rcn_reg'})
    except ConfigError:
        off['rcn_reg'] = (
            f'the RoI heads encode boxes differently (teacher '
            f'{roi_box_desc(t_roi)}, student {roi_box_desc(s_roi)}): '
            'deltas in other units')
    return off


def roi_notes(teacher: Detector, student: Detector) -> List[str]:
    """What the RoI terms do for a pair of other RoI-head families."""
    from mmkd.models.distillers.roi_seams import stage_teachers
    s_roi, t_roi = seams(teacher, student)
    try:
        plans = stage_teachers(s_roi, t_roi, {'rcn_kd', 'rcn_reg'})
    except ConfigError:  # the bound is off (switched_off_terms)
        plans = stage_teachers(s_roi, t_roi, {'rcn_kd'})
    notes = []
    if s_roi.num_stages == 1 and t_roi.num_stages > 1:
        bound = (f'the bounded regression takes stage {plans[0].reg}, whose '
                 "box coder is the student's" if plans[0].reg is not None else
                 'the bounded regression is off')
        notes.append(
            f"the teacher's RoI head is a {t_roi.num_stages}-stage cascade "
            "and the student's a single head: the soft targets are the "
            "cascade's test-time ensemble on the student's RoIs (the mean "
            "of its stages' logits, each stage on the previous one's "
            f'regressed boxes); {bound}')
    elif s_roi.num_stages > 1:
        teacher_word = ("the teacher's stage i" if t_roi.num_stages > 1 else
                        "the teacher's single head, at stage 0 only (the "
                        'later stages sample at higher IoU and encode '
                        'deltas in other units)')
        notes.append(
            f"the student's RoI head is a {s_roi.num_stages}-stage cascade: "
            f'stage i samples its own RoIs and learns from {teacher_word}; '
            "the terms of a stage are weighted by the student's "
            'stage_loss_weights')
    if s_roi.with_mask:
        notes.append("the student's mask head trains on its own loss; " + (
            'the mask distillation term (distill_losses.mask_kd, beyond '
            'the paper) is off, as in chen2017.py' if t_roi.with_mask else
            'the teacher has no mask head, so mask_kd cannot apply'))
    return notes


def parse_hint_levels(spec: str) -> Optional[List[Tuple[int, int]]]:
    """``'auto'`` -> None; ``'0:0,1:1'`` -> ``[(0, 0), (1, 1)]``."""
    if spec == 'auto':
        return None
    pairs = [pair.split(':') for pair in spec.split(',')]
    if not all(len(p) == 2 and all(i.isdigit() for i in p) for p in pairs):
        raise ConfigError(f'--hint-levels {spec!r}: give auto or student:'
                          'teacher level pairs, e.g. 0:0,1:1')
    return [(int(s), int(t)) for s, t in pairs]


def hint_pairs(teacher: Detector, student: Detector,
               levels: Optional[Sequence[Tuple[int, int]]]) -> tuple:
    """(student, teacher) level pairs and how they were chosen."""
    if levels is None:
        t_by_stride = {lvl.stride: lvl for lvl in teacher.levels}
        pairs = [(s, t_by_stride[s.stride]) for s in student.levels
                 if s.stride in t_by_stride]
        if not pairs:
            raise _refuse(
                teacher.name, student.name,
                f'no feature level of the student has the stride of one of '
                f'the teacher (student strides '
                f'{[lvl.stride for lvl in student.levels]}, teacher '
                f'{[lvl.stride for lvl in teacher.levels]}); give '
                '--hint-levels S:T pairs (the hint resizes the student map)')
        return pairs, ('every student level paired with the teacher level of '
                       'the same stride')
    for s_idx, t_idx in levels:
        for det, idx in ((student, s_idx), (teacher, t_idx)):
            if not 0 <= idx < len(det.levels):
                raise ConfigError(
                    f'--hint-levels: {det.name} has no level {idx}; its '
                    f'levels are 0-{len(det.levels) - 1}')
    return ([(student.levels[s], teacher.levels[t])
             for s, t in levels], 'given by --hint-levels')


def default_checkpoint(teacher: Detector, given: Optional[str]) -> tuple:
    """The teacher checkpoint and a note on where it comes from."""
    if given:
        return given, 'given by --teacher-ckpt'
    url = zoo_checkpoint_url(teacher.name)
    if url:
        return url, ("the model-zoo checkpoint of the teacher's config (its "
                     "metafile's Weights)")
    loop = teacher.cfg.get('train_cfg', {})
    stem = osp.splitext(osp.basename(teacher.name.split('::')[-1]))[0]
    last = (f"iter_{loop.get('max_iters')}.pth" if 'max_iters' in loop else
            f"epoch_{loop.get('max_epochs', 12)}.pth")
    return (f'work_dirs/{stem}/{last}',
            'where tools/train.py TEACHER writes its last checkpoint; train '
            'the teacher first or pass --teacher-ckpt')


def num_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def check_sizes(t_det: Detector, s_det: Detector,
                allow_smaller_teacher: bool) -> Optional[str]:
    """Refuse a teacher with fewer parameters than the student, or (with
    ``allow_smaller_teacher``) return a note saying so."""
    t_params, s_params = num_params(t_det.model), num_params(s_det.model)
    if t_params >= s_params:
        return None
    sizes = (f'the teacher has {t_params / 1e6:.2f}M parameters, fewer than '
             f"the student's {s_params / 1e6:.2f}M")
    if not allow_smaller_teacher:
        raise _refuse(
            t_det.name, s_det.name,
            f'{sizes}; the method distils a larger teacher into a smaller '
            'student: if TEACHER and STUDENT are in the wrong order, swap '
            'them; to distil a smaller teacher anyway, pass '
            '--allow-smaller-teacher')
    return f'{sizes} (--allow-smaller-teacher)'


def plan_distillation(teacher: str,
                      student: str,
                      teacher_ckpt: Optional[str] = None,
                      hint_levels: str = 'auto',
                      allow_smaller_teacher: bool = False,
                      method: str = 'chen2017') -> KDPlan:
    """Build and probe both detectors and decide the distillation config
    of ``method`` (a key of :data:`METHODS`).

    Raises:
        ConfigError: the pair cannot be distilled (or the teacher is smaller
            than the student, without ``allow_smaller_teacher``), or
            ``method`` is unknown; the message says why.
    """
    if method not in METHODS:
        raise ConfigError(f'--method {method!r}: use one of '
                          f"{', '.join(METHODS)}")
    levels = parse_hint_levels(hint_levels)
    t_det = load_detector(teacher, 'TEACHER')
    s_det = load_detector(student, 'STUDENT')
    check_classes(t_det, s_det)
    size_note = check_sizes(t_det, s_det, allow_smaller_teacher)
    hints, hint_note = hint_pairs(t_det, s_det, levels)
    ckpt, ckpt_note = default_checkpoint(t_det, teacher_ckpt)
    # The RPN and RoI terms need matching anchors and box codings; a method
    # without them (a feature term only) needs neither.
    off = switched_off_terms(t_det, s_det) if has_paper_terms(method) else {}
    plan = KDPlan(
        t_det, s_det, ckpt, ckpt_note, hints, hint_note, off, method=method)
    if size_note:
        plan.notes.append(size_note)
    if has_paper_terms(method):
        plan.notes += roi_notes(t_det, s_det)
    if normalisation(t_det.model) != normalisation(s_det.model):
        plan.notes.append('the two normalise images differently (mean, std '
                          'or channel order): the teacher gets the batch '
                          'normalised its own way')
    return plan
