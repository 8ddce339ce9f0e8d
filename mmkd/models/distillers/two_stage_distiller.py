"""Knowledge distillation of a two-stage detector (Chen et al., NIPS 2017).

The student's objective (paper, Eq. 1-6)::

    L = L_RPN + L_RCN + gamma * L_hint
    L_cls = mu * L_hard(P_s, y) + (1 - mu) * L_soft(P_s, P_t)
    L_reg = smoothL1(R_s, y) + nu * L_b(R_s, R_t, y)

applied to the RPN (per anchor, on the student's anchor targets and
sampling) and to the RoI head (per RoI, the teacher's RoI head running on
the student's sampled RoIs so that the rows line up).
"""
import logging
from typing import Dict, Optional, Sequence, Tuple, Union

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
                            feature_distill_terms, rcn_distill_terms,
                            rpn_distill_terms, rpn_hard_losses)
from .targets import anchor_targets, class_agnostic
from .teacher import (build_teacher, check_pairing, teacher_classes,
                      teacher_fingerprint)
from .teacher_input import TeacherInput


@MODELS.register_module()
class TwoStageDistiller(DistillerBase):
    """Trains a two-stage ``student`` detector with a frozen ``teacher``.

    Args:
        student (dict): the student detector config (e.g. ``FasterRCNN``);
            its RPN and single bbox head are trained (a mask head or other
            heads are refused: their losses would be lost).
        teacher (dict | str): the teacher detector config, or a path to a
            config file whose ``model`` is the teacher (its dataset's class
            names are then checked against the training set's).
        teacher_ckpt (str, optional): the teacher's checkpoint, loaded on
            CPU; its path and a hash of its weights are recorded in the
            distiller's checkpoints, and ``--resume`` warns when they
            changed. ``None`` only for tests: the teacher stays random.
        distill_losses (dict): the terms to train, among ``rpn_kd``,
            ``rpn_reg``, ``rcn_kd``, ``rcn_reg`` and the feature terms
            ``hint``, ``pkd`` and ``cwd``, each a loss config; a term that
            is absent or ``None`` is off (the paper's five are in
            ``configs/_base_/distill/chen2017.py``, the later methods' in
            ``fitnets.py``, ``pkd.py`` and ``cwd.py`` beside it). Required.
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
        nonfinite (str): what a NaN/Inf in any loss term does, decided on
            every rank together: ``'stop'`` (default) raises
            ``FloatingPointError`` naming the terms and the iteration
            (counted from 1, as in the log); ``'skip'`` logs them and leaves
            weights, optimizer state, buffers and the learning-rate schedule
            as if the batch never happened (see ``nonfinite.py``).
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
                 distill_losses: Optional[dict] = None,
                 hint_levels: Sequence[Tuple[int, int]] = ((0, 0), ),
                 adapters: Union[dict, list, None] = None,
                 hard_weight: float = 0.5,
                 teacher_input_scale: float = 1.0,
                 teacher_autocast: Optional[str] = None,
                 nonfinite: str = 'stop',
                 diagnostics: int = 0,
                 distill_warmup_iters: int = 0,
                 eval_only: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        _check_options(hard_weight, nonfinite, diagnostics,
                       distill_warmup_iters)
        self.distill_warmup_iters = distill_warmup_iters
        self._mu = hard_weight
        self.nonfinite = nonfinite
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
                    self._build_teacher(teacher, teacher_ckpt,
                                        teacher_input_scale, teacher_autocast)

    def _build(self, student, data_preprocessor, distill_losses, adapters):
        self.student = MODELS.build(student)
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

    def _build_teacher(self, teacher, teacher_ckpt, input_scale, autocast):
        if teacher is None:
            raise ConfigError('TwoStageDistiller: model.teacher is required '
                              '(a detector dict or a config file path)')
        self.__dict__['teacher'] = build_teacher(teacher, teacher_ckpt)
        self.teacher_input = TeacherInput(
            self.data_preprocessor,
            self.teacher.data_preprocessor,
            scale=input_scale,
            autocast=autocast)
        check_pairing(
            self.student,
            self.teacher,
            terms=set(self.distill_losses),
            input_scale=input_scale)
        if self._uses(*FEATURE_TERMS):
            check_hint_channels(self.student, self.teacher, self.adapters,
                                self.hint_levels, self.teacher_input,
                                self.distill_losses)
        if self._uses('rcn_kd', 'rcn_reg'):
            self.teacher_classes = teacher_classes(teacher)
        if teacher_ckpt is not None:
            self.teacher_record = dict(
                path=str(teacher_ckpt),
                sha256=teacher_fingerprint(self.teacher))

    def _uses(self, *names: str) -> bool:
        return any(name in self.distill_losses for name in names)

    # ------------------------------------------------------------ training
    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Student losses (``student.*``) and distillation terms
        (``distill.*``) of one batch."""
        if self.teacher is None:
            raise RuntimeError('TwoStageDistiller was built with '
                               'eval_only=True and cannot be trained')
        self._start_step()  # run checks; BN statistics kept for a skip
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
        # 3. assign and sample the proposals once, with the student's sampler.
        sampling_results = self._sample_rois(s_feats, proposals,
                                             batch_data_samples)
        # 4-5. student RoI head, teacher RoI head on the same RoIs; losses.
        losses.update(
            self._rcn_step(s_feats, t_feats, sampling_results,
                           batch_data_samples, diag))
        # 5. feature terms (hint, pkd, cwd) between adapted student features
        # and teacher features, per hint level.
        if self._uses(*FEATURE_TERMS):
            losses.update(
                feature_distill_terms(self.distill_losses, self.adapters,
                                      self.hint_levels, s_feats, t_feats,
                                      batch_data_samples))
        if ramp < 1.0:  # the KD terms are ramped through mu above
            for key in ('distill.loss_rpn_reg', 'distill.loss_rcn_reg',
                        *(f'distill.loss_{t}' for t in FEATURE_TERMS)):
                if key in losses:
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

    def _sample_rois(self, s_feats: Tuple[Tensor], proposals: list,
                     batch_data_samples: SampleList) -> list:
        roi_head = self.student.roi_head
        gts, gts_ignore, _ = unpack_gt_instances(batch_data_samples)
        sampling_results = []
        for i, props in enumerate(proposals):
            props.priors = props.pop('bboxes')
            assign = roi_head.bbox_assigner.assign(props, gts[i],
                                                   gts_ignore[i])
            sampling_results.append(
                roi_head.bbox_sampler.sample(
                    assign, props, gts[i],
                    feats=[f[i][None] for f in s_feats]))
        return sampling_results

    def _rcn_step(self, s_feats: Tuple[Tensor], t_feats: Tuple[Tensor],
                  sampling_results: list, batch_data_samples: SampleList,
                  diag: Optional[dict]) -> dict:
        roi_head = self.student.roi_head
        bbox_head = roi_head.bbox_head
        rois = bbox2roi([res.priors for res in sampling_results])
        s_out = roi_head._bbox_forward(s_feats, rois)
        targets = bbox_head.get_targets(sampling_results, roi_head.train_cfg)
        hard = bbox_head.loss(s_out['cls_score'], s_out['bbox_pred'], rois,
                              *targets)
        if 'rcn_kd' in self.distill_losses:
            hard['loss_cls'] = hard['loss_cls'] * self._mu
        losses = {f'student.{k}': v for k, v in hard.items()}
        if self._uses('rcn_kd', 'rcn_reg'):
            t_out = self.teacher_input.run_roi_head(self.teacher.roi_head,
                                                    t_feats, rois,
                                                    batch_data_samples)
            losses.update(
                rcn_distill_terms(
                    self.distill_losses,
                    bbox_head,
                    s_out,
                    t_out,
                    rois,
                    targets,
                    soft_weight=1.0 - self._mu,
                    diag=diag))
        return losses


def _scaled(value, factor: float):
    """``value * factor`` for a loss tensor or a list of them (per level)."""
    if isinstance(value, list):
        return [v * factor for v in value]
    return value * factor


def _check_options(hard_weight: float, nonfinite: str, diagnostics: int,
                   warmup_iters: int) -> None:
    number = isinstance(hard_weight,
                        (int, float)) and not isinstance(hard_weight, bool)
    if not (number and 0.0 <= hard_weight <= 1.0):
        raise ConfigError(
            f'TwoStageDistiller: hard_weight={hard_weight!r} must be a '
            'number in [0, 1] (mu of the paper: the weight of the hard '
            'classification loss; the soft term gets 1 - mu)')
    if nonfinite not in ('stop', 'skip'):
        raise ConfigError(f"TwoStageDistiller: nonfinite={nonfinite!r}; "
                          "use 'stop' or 'skip'")
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
