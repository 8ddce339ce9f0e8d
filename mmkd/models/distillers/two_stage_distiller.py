"""Knowledge distillation of a two-stage detector (Chen et al., NIPS 2017).

The student's objective (paper, Eq. 1-6)::

    L = L_RPN + L_RCN + gamma * L_hint
    L_cls = mu * L_hard(P_s, y) + (1 - mu) * L_soft(P_s, P_t)
    L_reg = smoothL1(R_s, y) + nu * L_b(R_s, R_t, y)

applied to the RPN (per anchor, on the student's anchor targets and
sampling) and to the RoI head (per RoI, the teacher's RoI head running on
the student's sampled RoIs so that the rows line up), stage by stage for a
cascade (``roi_seams``: what each RoI-head family does, and which teacher
stage teaches which student stage).
"""
import logging
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmengine.logging import MessageHub, print_log
from mmengine.registry import DefaultScope
from torch import Tensor

from mmkd.registry import MODELS
from mmkd.utils.errors import ConfigError
from .base import DistillerBase
from .diagnostics import gradient_norms
from .distill_terms import (FEATURE_TERMS, build_adapters,
                            build_distill_losses, check_hint_channels,
                            feature_distill_terms, rpn_distill_terms,
                            rpn_hard_losses)
from .rcn_terms import mask_distill_term, rcn_distill_terms
from .roi_seams import RoIHeadSeam, roi_seam
from .targets import anchor_targets, class_agnostic
from .teacher import (build_teacher, check_pairing, check_two_stage,
                      teacher_classes, teacher_fingerprint)
from .teacher_input import TeacherInput
from .teacher_rcn import teacher_boxes, teacher_masks


@MODELS.register_module()
class TwoStageDistiller(DistillerBase):
    """Trains a two-stage ``student`` detector with a frozen ``teacher``.

    Args:
        student (dict): the student detector config: a Faster R-CNN, Mask
            R-CNN or Cascade R-CNN (Mask), whose every loss is trained (other
            RoI-head families are refused, see ``roi_seams``).
        teacher (dict | str): the teacher detector config, or a path to a
            config file whose ``model`` is the teacher (its dataset's class
            names are then checked against the training set's).
        teacher_ckpt (str): the trained teacher's checkpoint, loaded on
            CPU; its path and a hash of its weights are recorded in the
            distiller's checkpoints, and ``--resume`` warns when they
            changed. Required (unless ``eval_only`` or ``random_teacher``):
            without it the teacher would keep its random initialisation and
            the student would be distilled from noise, so a distiller built
            without one is refused (``ConfigError``).
        random_teacher (bool): build the teacher with random weights and no
            checkpoint (``teacher_ckpt`` must then be None). For tests of
            the mechanics and for benchmarks that time the steps, never for
            a student that is used: the run's log says so. The tools never
            set it. Defaults to False.
        distill_losses (dict): the terms to train, among ``rpn_kd``,
            ``rpn_reg``, ``rcn_kd``, ``rcn_reg``, the feature terms
            ``hint``, ``pkd`` and ``cwd``, and ``mask_kd`` (mask heads,
            beyond the paper: ``rcn_terms.mask_distill_term``), each a loss
            config; a term that is absent or ``None`` is off (the paper's
            five are in ``configs/_base_/distill/chen2017.py``, the later
            methods' in ``fitnets.py``, ``pkd.py`` and ``cwd.py`` beside
            it). A cascade student's RoI terms are per stage, weighted like
            its own losses by its ``stage_loss_weights``. Required.
        hint_levels (sequence of (int, int)): pairs of (student level,
            teacher level) of ``extract_feat`` outputs; every feature term
            applies on every pair.
        adapters (dict | list, optional): ``HintAdapter`` configs, one per
            hint level (or one dict for all), built only when a feature
            term is on; the terms of a level share its adapter. ``None``
            (for a level, or for all) means no adaptation layer: an
            ablation, since the paper finds the adapter important even
            where the channels already match.
        hard_weight (float): mu in [0, 1], the weight of the student's own
            (hard) classification losses; the soft term gets ``1 - mu``.
            Only applied where the soft term is on. Defaults to 0.5: the
            paper leaves mu open, and equal weights keep the hard labels'
            signal while the soft targets carry the teacher's class
            similarities.
        teacher_input_scale (float): the teacher's input size over the
            student's (the paper's high-resolution teacher). With a value
            other than 1 the data pipeline must provide the teacher's
            full-resolution images (``StudentDownscale`` and
            ``PackDistillInputs``); RoIs are scaled to match. Defaults to 1.
        teacher_autocast (str, optional): ``'bfloat16'`` or ``'float16'`` to
            run the teacher in reduced precision while the student trains in
            full precision. Every distillation term is computed in float32.
        diagnostics (int): ``N > 0`` logs what the terms see
            (``diag.*``: teacher accuracy and soft-target entropy on the
            student's samples, share of positives with an active bound) at
            every iteration and each term's gradient norm every ``N``-th
            (see ``diagnostics.py``); 0 (default) logs none of it. Meant for
            single-process analysis runs: the gradient norms cost one extra
            backward pass per term.
        distill_warmup_iters (int): ``N > 0`` ramps the distillation in
            linearly over the first ``N`` iterations: the regression and
            feature terms are scaled by ``min(1, (iter + 1) / N)`` and the
            classification goes from the hard loss alone to ``mu`` hard +
            ``1 - mu`` soft. 0 (default) is the paper: full weights from
            the first iteration.
        eval_only (bool): build only the student (and adapters), e.g. for
            ``tools/test.py``; no teacher is built or loaded.
        data_preprocessor (dict, optional): defaults to the student's.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 student: dict,
                 teacher: Union[dict, str, None] = None,
                 teacher_ckpt: Optional[str] = None,
                 random_teacher: bool = False,
                 distill_losses: Optional[dict] = None,
                 hint_levels: Sequence[Tuple[int, int]] = ((0, 0), ),
                 adapters: Union[dict, list, None] = None,
                 hard_weight: float = 0.5,
                 teacher_input_scale: float = 1.0,
                 teacher_autocast: Optional[str] = None,
                 diagnostics: int = 0,
                 distill_warmup_iters: int = 0,
                 eval_only: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        _check_options(hard_weight, diagnostics, distill_warmup_iters)
        self.distill_warmup_iters = distill_warmup_iters
        self._mu = hard_weight
        self.diagnostics = diagnostics
        self.hard_weight = hard_weight
        self.hint_levels = [tuple(pair) for pair in hint_levels]
        self.eval_only = eval_only
        # The teacher is kept outside the module tree on purpose: it is then
        # not in state_dict() (checkpoints), parameters() (optimizer, DDP
        # gradient sync) or init_weights(), and train() cannot flip it.
        self.__dict__['teacher'] = None
        self.teacher_record, self.teacher_classes = None, None
        with _default_scope():
            self._build(student, data_preprocessor, distill_losses, adapters)
            if not eval_only:
                # On a forked random stream, like the adapters: with a given
                # seed the student starts from the weights it gets when it
                # is trained alone, in every ablation row.
                with torch.random.fork_rng(devices=[]):
                    self._build_teacher(teacher, teacher_ckpt, random_teacher,
                                        teacher_input_scale, teacher_autocast)

    def _build(self, student, data_preprocessor, distill_losses, adapters):
        self.student = MODELS.build(student)
        check_two_stage('student', self.student)  # before its RPN is read
        self.data_preprocessor = (
            MODELS.build(data_preprocessor)
            if data_preprocessor else self.student.data_preprocessor)
        self.distill_losses = build_distill_losses(
            distill_losses, rpn_sigmoid=self.student.rpn_head.use_sigmoid_cls)
        # Only what an enabled term uses is built: adapters without the hint
        # would be parameters without gradients (in the optimizer, the
        # checkpoints, and an error for DDP's default wrapping).
        self.adapters = None
        if self._uses(*FEATURE_TERMS):
            with torch.random.fork_rng(devices=[]):  # see __init__
                self.adapters = build_adapters(adapters, len(self.hint_levels))
        elif adapters:
            print_log(
                'TwoStageDistiller: no feature term (hint, pkd, cwd) is on, '
                'so model.adapters are not built',
                logger='current',
                level=logging.INFO)

    def _build_teacher(self, teacher, teacher_ckpt, random_teacher,
                       input_scale, autocast):
        if teacher is None:
            raise ConfigError('TwoStageDistiller: model.teacher is required '
                              '(a detector dict or a config file path)')
        self.__dict__['teacher'] = build_teacher(
            teacher, teacher_ckpt, random_teacher=random_teacher)
        self.teacher_input = TeacherInput(
            self.data_preprocessor,
            self.teacher.data_preprocessor,
            scale=input_scale,
            autocast=autocast)
        # which teacher stage teaches which student stage (roi_seams)
        _, _, self.stage_teachers = check_pairing(
            self.student,
            self.teacher,
            terms=set(self.distill_losses),
            input_scale=input_scale)
        if self._uses(*FEATURE_TERMS):
            check_hint_channels(self.student, self.teacher, self.adapters,
                                self.hint_levels, self.teacher_input,
                                self.distill_losses)
        if self._uses('rcn_kd', 'rcn_reg', 'mask_kd'):
            self.teacher_classes = teacher_classes(teacher)
        if teacher_ckpt is not None:
            self.teacher_record = dict(
                path=str(teacher_ckpt),
                sha256=teacher_fingerprint(self.teacher))

    def _uses(self, *names: str) -> bool:
        return any(name in self.distill_losses for name in names)

    # Built when asked (a few attribute lookups): a seam holds its RoI head,
    # and a deep copy of the distiller must not copy the teacher's.
    @property
    def student_roi(self) -> RoIHeadSeam:
        return roi_seam(self.student.roi_head, 'student')

    @property
    def teacher_roi(self) -> RoIHeadSeam:
        return roi_seam(self.teacher.roi_head, 'teacher')

    # ------------------------------------------------------------ training
    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Student losses (``student.*``) and distillation terms
        (``distill.*``) of one batch."""
        if self.teacher is None:
            raise RuntimeError('TwoStageDistiller was built with '
                               'eval_only=True and cannot be trained')
        self._start_step()  # checks only the runner can make
        ramp = self._ramp()  # 1 unless distill_warmup_iters is set
        self._mu = 1.0 - ramp * (1.0 - self.hard_weight)
        # 1. student features; teacher features (no grad) for every term,
        # from the teacher's own image when the pipeline provides one.
        s_feats = self.student.extract_feat(batch_inputs)
        t_feats = self.teacher_input.extract_feat(self.teacher, batch_inputs,
                                                  batch_data_samples)
        losses, diag = {}, {} if self.diagnostics else None
        # 2. student RPN: hard losses and RPN distillation per anchor.
        rpn_samples = class_agnostic(batch_data_samples)
        rpn_losses, proposals = self._rpn_step(s_feats, t_feats, rpn_samples,
                                               diag)
        losses.update(rpn_losses)
        # 3-5. the RoI head stage by stage (one stage but for a cascade):
        # the stage's RoIs sampled once, with the student's sampler, from
        # the proposals (a cascade's later stages: the previous stage's
        # refined boxes); student and teacher heads on the same RoIs; the
        # student's own losses (mask included) and the RoI terms.
        for stage in range(self.student_roi.num_stages):
            stage_losses, proposals = self._rcn_stage(stage, s_feats, t_feats,
                                                      proposals,
                                                      batch_data_samples, diag)
            losses.update(stage_losses)
            if proposals is None:  # the last stage, or nothing to refine
                break
        # 5. feature terms (hint, pkd, cwd) between adapted student features
        # and teacher features, per hint level.
        if self._uses(*FEATURE_TERMS):
            losses.update(
                feature_distill_terms(self.distill_losses, self.adapters,
                                      self.hint_levels, s_feats, t_feats,
                                      batch_data_samples))
        if ramp < 1.0:  # the KD terms are ramped through mu above
            for key in losses:
                if key.startswith(
                        'distill.') and not key.endswith(_RAMPED_THROUGH_MU):
                    losses[key] = _scaled(losses[key], ramp)
        # 6. optional statistics of what the terms see (diagnostics.py).
        if diag is not None:
            losses.update(diag)
            if _iteration() % self.diagnostics == 0:
                losses.update(gradient_norms(losses, self.parameters()))
        return losses

    def _ramp(self) -> float:
        """The distillation weights' share at this iteration: rises linearly
        from ``1 / N`` to 1 over the first ``N = distill_warmup_iters``."""
        if not self.distill_warmup_iters:
            return 1.0
        return min(1.0, (_iteration() + 1) / self.distill_warmup_iters)

    def _rpn_step(self, s_feats: Tuple[Tensor], t_feats: Tuple[Tensor],
                  rpn_samples: SampleList,
                  diag: Optional[dict]) -> Tuple[dict, list]:
        head = self.student.rpn_head
        gts, gts_ignore, metas = unpack_gt_instances(rpn_samples)
        s_cls, s_reg = head(s_feats)
        targets = anchor_targets(head, s_cls, gts, metas, gts_ignore)
        hard = rpn_hard_losses(head, s_cls, s_reg, targets)
        if 'rpn_kd' in self.distill_losses:
            hard['loss_rpn_cls'] = [
                loss * self._mu for loss in hard['loss_rpn_cls']
            ]
        losses = {f'student.{k}': v for k, v in hard.items()}
        if self._uses('rpn_kd', 'rpn_reg'):
            t_cls, t_reg = self.teacher_input.run(self.teacher.rpn_head,
                                                  t_feats)
            losses.update(
                rpn_distill_terms(
                    self.distill_losses, (s_cls, s_reg), (t_cls, t_reg),
                    targets,
                    soft_weight=1.0 - self._mu,
                    decoder=head.bbox_coder if head.reg_decoded_bbox else None,
                    diag=diag))
        proposal_cfg = self.student.train_cfg.get('rpn_proposal',
                                                  self.student.test_cfg.rpn)
        proposals = head.predict_by_feat(
            s_cls, s_reg, batch_img_metas=metas, cfg=proposal_cfg)
        return losses, proposals

    def _rcn_stage(self, stage: int, s_feats: Tuple[Tensor],
                   t_feats: Tuple[Tensor], proposals: list,
                   batch_data_samples: SampleList,
                   diag: Optional[dict]) -> Tuple[dict, Optional[list]]:
        """One stage of the RoI head: its losses (weighted by the stage's
        loss weight) and the next stage's proposals (None after the last).
        """
        roi = self.student_roi
        gts, gts_ignore, metas = unpack_gt_instances(batch_data_samples)
        sampling = roi.sample(stage, s_feats, proposals, gts, gts_ignore)
        rois = bbox2roi([res.priors for res in sampling])
        s_out = roi.bbox_forward(stage, s_feats, rois)
        targets = roi.bbox_targets(stage, sampling)
        hard = roi.bbox_loss(stage, s_out, rois, targets)
        t_out, t_head = self.teacher_rcn(stage, t_feats, rois,
                                         batch_data_samples)
        if 'cls_score' in t_out:  # mu: the hard share of the classification
            hard['loss_cls'] = hard['loss_cls'] * self._mu
        out = {f'student.{k}': v for k, v in hard.items()}
        stage_diag = {} if diag is not None else None
        out.update(
            rcn_distill_terms(
                self.distill_losses, (roi.bbox_head(stage), t_head),
                s_out,
                t_out,
                rois,
                targets,
                soft_weight=1.0 - self._mu,
                diag=stage_diag))
        if roi.with_mask:
            out.update(
                self._mask_terms(stage, s_feats, t_feats, sampling, s_out, gts,
                                 batch_data_samples))
        weight, n = roi.stage_weight(stage), roi.num_stages
        if diag is not None:
            diag.update({
                _stage_key(k, stage, n): v
                for k, v in stage_diag.items()
            })
        out = {
            _stage_key(key, stage, n):
            _scaled(value, weight) if 'loss' in key and weight != 1 else value
            for key, value in out.items()
        }
        return out, roi.refine(stage, sampling, s_out, rois, targets, metas)

    def teacher_rcn(self, stage: int, t_feats: Tuple[Tensor], rois: Tensor,
                    batch_data_samples: SampleList) -> Tuple[dict, Any]:
        """The teacher's ``cls_score`` and ``bbox_pred`` on the student's
        stage-``stage`` RoIs, and its box head (``teacher_rcn.py``)."""
        return teacher_boxes(self.teacher_roi, self.stage_teachers[stage],
                             self.teacher_input, t_feats, rois,
                             batch_data_samples)

    def _mask_terms(self, stage: int, s_feats: Tuple[Tensor],
                    t_feats: Tuple[Tensor], sampling: list, s_out: dict,
                    gts: list, batch_data_samples: SampleList) -> dict:
        """The student's mask loss on its sampled positives and, where the
        stage has a mask teacher, the mask distillation term."""
        roi, plan = self.student_roi, self.stage_teachers[stage]
        loss_mask, s_masks = roi.mask_loss(stage, s_feats, sampling, s_out,
                                           gts)
        out = {f'student.{k}': v for k, v in loss_mask.items()}
        if plan is None or plan.mask is None:
            return out
        t_masks = teacher_masks(self.teacher_roi, plan, self.teacher_input,
                                t_feats,
                                bbox2roi([res.pos_priors for res in sampling]),
                                batch_data_samples)
        labels = torch.cat([res.pos_gt_labels for res in sampling])
        out['distill.loss_mask_kd'] = mask_distill_term(
            self.distill_losses['mask_kd'], s_masks, t_masks, labels)
        return out


# Terms the warm-up ramps through mu (their soft share), not by scaling.
_RAMPED_THROUGH_MU = ('loss_rpn_kd', 'loss_rcn_kd')


def _stage_key(key: str, stage: int, num_stages: int) -> str:
    """``student.loss_cls`` -> ``student.s1.loss_cls`` for stage 1 of a
    cascade (MMDetection's ``s1.loss_cls``); unchanged for one stage."""
    if num_stages == 1:
        return key
    group, name = key.split('.', 1)
    return f'{group}.s{stage}.{name}'


def _scaled(value, factor: float):
    """``value * factor`` for a loss tensor or a list of them (per level)."""
    if isinstance(value, list):
        return [v * factor for v in value]
    return value * factor


def _check_options(hard_weight: float, diagnostics: int,
                   warmup_iters: int) -> None:
    number = isinstance(hard_weight,
                        (int, float)) and not isinstance(hard_weight, bool)
    if not (number and 0.0 <= hard_weight <= 1.0):
        raise ConfigError(
            f'TwoStageDistiller: hard_weight={hard_weight!r} must be a '
            'number in [0, 1] (mu of the paper: the weight of the hard '
            'classification loss; the soft term gets 1 - mu)')
    if not isinstance(diagnostics, int) or diagnostics < 0:
        raise ConfigError(
            f'TwoStageDistiller: diagnostics={diagnostics!r} must be an int '
            '>= 0 (0: off)')
    if not isinstance(warmup_iters, int) or warmup_iters < 0:
        raise ConfigError(
            f'TwoStageDistiller: distill_warmup_iters={warmup_iters!r} must '
            'be an int >= 0 (0: the paper, full weights from the start)')


def _default_scope():
    """Build in the ``mmkd`` scope unless a project scope is already set
    (the Runner sets one; a bare ``MODELS.build`` does not)."""
    current = DefaultScope.get_current_instance()
    unset = current is None or current.scope_name == 'mmengine'
    return DefaultScope.overwrite_default_scope('mmkd' if unset else None)


def _iteration() -> int:
    """The runner's 0-based iteration (0 outside a runner)."""
    return MessageHub.get_current_instance().get_info('iter') or 0
