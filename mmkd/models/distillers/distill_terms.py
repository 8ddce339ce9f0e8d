"""The distillation terms of ``TwoStageDistiller``, one function each.

Each function takes the student's and the teacher's outputs and the
student's targets and returns the ``distill.*`` loss entries; the distiller
calls them in order so its ``loss()`` reads top to bottom.
"""
import copy
import math
from typing import List, Optional, Sequence, Union

import torch
from mmdet.models.utils import multi_apply
from mmdet.structures.bbox import get_box_tensor
from mmengine.model import ModuleList
from torch import Tensor, nn

from mmkd.registry import MODELS
from mmkd.utils.errors import ConfigError
from .diagnostics import bound_active, teacher_cls_stats

# The feature terms: each compares the adapted student map with the teacher
# map on every hint level (the same hint_levels, the same adapters). `hint`
# is the paper's (and FitNets'), `pkd` and `cwd` two later methods'
# (configs/_base_/distill/{fitnets,pkd,cwd}.py).
FEATURE_TERMS = ('hint', 'pkd', 'cwd')
# The terms a distiller can train; which of them are on, and with which
# weights, is what the config's ``distill_losses`` lists (the paper's five
# are in configs/_base_/distill/chen2017.py; mask_kd, for students with a
# mask head, is beyond the paper: rcn_terms.py).
TERM_NAMES = ('rpn_kd', 'rpn_reg', 'rcn_kd',
              'rcn_reg') + FEATURE_TERMS + ('mask_kd', )


def build_distill_losses(cfgs: Optional[dict], *,
                         rpn_sigmoid: bool) -> nn.ModuleDict:
    """Build the terms ``cfgs`` lists; a term absent or ``None`` is off.

    Nothing is added that the config does not name, so the config a user
    reads is the complete list of what trains.
    """
    if cfgs is None:
        raise ConfigError(
            'TwoStageDistiller: model.distill_losses is required; inherit '
            "configs/_base_/distill/chen2017.py (the paper's five terms and "
            'weights) or list the terms to train, e.g. '
            "distill_losses=dict(hint=dict(type='HintAdaptLoss')); an empty "
            'dict trains no distillation term')
    if not isinstance(cfgs, dict):
        raise ConfigError(
            f'TwoStageDistiller: model.distill_losses must be a dict of '
            f'{list(TERM_NAMES)} to loss configs, got {type(cfgs).__name__}')
    unknown = sorted(set(cfgs) - set(TERM_NAMES))
    if unknown:
        raise ConfigError(
            f'TwoStageDistiller: unknown distill_losses key(s) {unknown}; '
            f'valid keys are {sorted(TERM_NAMES)}')
    losses = nn.ModuleDict()
    for name in TERM_NAMES:
        cfg = cfgs.get(name)
        if cfg is None:
            continue
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise ConfigError(
                f'TwoStageDistiller: distill_losses.{name}={cfg!r} needs a '
                "`type` (e.g. type='WeightedKDLoss'), or None to switch the "
                'term off')
        cfg = dict(cfg)
        if name == 'rpn_kd':
            if cfg.get('use_sigmoid', rpn_sigmoid) != rpn_sigmoid:
                raise ConfigError(
                    f'TwoStageDistiller: distill_losses.rpn_kd.use_sigmoid='
                    f"{cfg['use_sigmoid']} but the student's RPN uses "
                    f"{'sigmoid' if rpn_sigmoid else 'softmax'} "
                    'classification; remove use_sigmoid from rpn_kd')
            cfg['use_sigmoid'] = rpn_sigmoid
        if name == 'mask_kd':  # per-pixel binary masks
            if not cfg.setdefault('use_sigmoid', True):
                raise ConfigError(
                    'TwoStageDistiller: distill_losses.mask_kd.use_sigmoid='
                    'False, but mask logits are per-pixel sigmoids; remove '
                    'use_sigmoid from mask_kd')
        try:
            losses[name] = MODELS.build(cfg)
        except ConfigError as exc:  # a value out of its range
            raise ConfigError(f'distill_losses.{name}: {exc}') from None
        except (KeyError, TypeError) as exc:
            raise ConfigError(
                f'TwoStageDistiller: cannot build distill_losses.{name}='
                f'{cfg}: {exc}') from exc
    return losses


def build_adapters(adapters: Union[dict, list, None],
                   num_levels: int) -> ModuleList:
    """One adapter per hint level; ``None`` at a level means no adaptation
    layer there (an ablation: the student map must then have the teacher's
    channels).

    An MMEngine ``ModuleList``, so that the distiller's ``init_weights()``
    reaches every adapter's own ``init_cfg``.
    """
    if adapters is None or isinstance(adapters, dict):
        adapters = [copy.deepcopy(adapters) for _ in range(num_levels)]
    if len(adapters) != num_levels:
        raise ConfigError(
            f'TwoStageDistiller: {len(adapters)} adapters for {num_levels} '
            'hint_levels; give one adapter (or None) per hint level')
    built = ModuleList()
    for i, cfg in enumerate(adapters):
        try:
            built.append(nn.Identity() if cfg is None else MODELS.build(cfg))
        except (KeyError, TypeError) as exc:
            raise ConfigError(
                f'TwoStageDistiller: cannot build model.adapters[{i}]={cfg}: '
                f'{exc}') from exc
    return built


@torch.no_grad()
def check_hint_channels(student: nn.Module,
                        teacher: nn.Module,
                        adapters: nn.ModuleList,
                        hint_levels: Sequence[tuple],
                        teacher_input,
                        losses: Optional[nn.ModuleDict] = None) -> None:
    """Probe both trunks on a small image; compare adapted channels, and
    run each feature term of ``losses`` on the probed maps once, so that a
    map it cannot compare is refused at build time."""
    was_training = student.training, adapters.training
    student.eval(), adapters.eval()
    device = next(student.parameters()).device
    side = round(128 * teacher_input.scale)  # the teacher's own image size
    s_feats = student.extract_feat(torch.zeros(1, 3, 128, 128, device=device))
    t_feats = teacher_input.run(teacher.extract_feat,
                                torch.zeros(1, 3, side, side, device=device))
    student.train(was_training[0]), adapters.train(was_training[1])
    for (s_idx, t_idx), adapter in zip(hint_levels, adapters):
        for name, idx, feats in (('student', s_idx, s_feats),
                                 ('teacher', t_idx, t_feats)):
            if not -len(feats) <= idx < len(feats):
                raise ConfigError(
                    f'TwoStageDistiller: hint level {idx} of the {name} does '
                    f'not exist; its extract_feat gives {len(feats)} levels')
        adapted = adapter(s_feats[s_idx])
        got, wanted = adapted.shape[1], t_feats[t_idx].shape[1]
        if got != wanted:
            raise ConfigError(
                f'TwoStageDistiller: hint level (student {s_idx}, teacher '
                f'{t_idx}): the (adapted) student feature has {got} '
                f'channels, the teacher feature {wanted}; configure '
                f"adapters=[dict(type='HintAdapter', in_channels="
                f'{s_feats[s_idx].shape[1]}, out_channels={wanted})]')
        for name in FEATURE_TERMS:
            if losses is not None and name in losses:
                _probe_term(name, losses[name], adapted, t_feats[t_idx],
                            (s_idx, t_idx))


def _probe_term(name: str, loss: nn.Module, adapted: Tensor, teacher: Tensor,
                level: tuple) -> None:
    """One call of a feature term on probe maps; its error as one line."""
    try:
        loss(adapted, teacher, weight=teacher.new_ones(teacher[:, :1].shape))
    except (TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
        raise ConfigError(
            f'TwoStageDistiller: distill_losses.{name} '
            f'({type(loss).__name__}) cannot compare hint level (student '
            f'{level[0]}, teacher {level[1]}): student map '
            f'{tuple(adapted.shape)}, teacher map {tuple(teacher.shape)}: '
            f'{type(exc).__name__}: {first}; a feature term takes '
            '(student_map, teacher_map, weight=mask), e.g. '
            "type='PKDLoss'") from None


def image_mask(feat: Tensor, batch_data_samples: list) -> Tensor:
    """``(N, 1, H, W)``: 1 where ``feat`` covers its image, 0 on the batch
    padding.

    Each image's ``img_shape`` is its un-padded size in the batch of
    ``batch_input_shape``; the map covers the batch (at any scale, e.g. the
    teacher's input at ``teacher_input_scale``), so the covered share of its
    rows and columns is the image's share of the batch.
    """
    n, _, height, width = feat.shape
    mask = feat.new_zeros(n, 1, height, width)
    for i, sample in enumerate(batch_data_samples):
        img_h, img_w = sample.metainfo['img_shape'][:2]
        pad_h, pad_w = sample.metainfo.get('batch_input_shape', (img_h, img_w))
        rows = min(height, math.ceil(height * img_h / pad_h))
        cols = min(width, math.ceil(width * img_w / pad_w))
        mask[i, :, :rows, :cols] = 1
    return mask


def feature_distill_terms(losses: nn.ModuleDict, adapters: nn.ModuleList,
                          hint_levels: Sequence[tuple], s_feats: tuple,
                          t_feats: tuple, batch_data_samples: list) -> dict:
    """The feature terms that are on, each a list with one loss per hint
    level: the level's adapted student map against the teacher's, over the
    teacher map's un-padded positions (the padding of a batch is no image
    content). Each level is adapted once and shared by the terms."""
    names = [name for name in FEATURE_TERMS if name in losses]
    out = {f'distill.loss_{name}': [] for name in names}
    for (s_idx, t_idx), adapter in zip(hint_levels, adapters):
        adapted, teacher = adapter(s_feats[s_idx]), t_feats[t_idx]
        mask = image_mask(teacher, batch_data_samples)
        for name in names:
            out[f'distill.loss_{name}'].append(losses[name](
                adapted, teacher, weight=mask))
    return out


def rpn_hard_losses(head: nn.Module, cls_scores: List[Tensor],
                    bbox_preds: List[Tensor], targets: dict) -> dict:
    """The student's own RPN losses, from targets computed once."""
    loss_cls, loss_bbox = multi_apply(
        head.loss_by_feat_single,
        cls_scores,
        bbox_preds,
        targets['anchors'],
        targets['labels'],
        targets['label_weights'],
        targets['bbox_targets'],
        targets['bbox_weights'],
        avg_factor=targets['avg_factor'])
    return dict(loss_rpn_cls=loss_cls, loss_rpn_bbox=loss_bbox)


def _flatten_levels(maps: List[Tensor], channels: int) -> Tensor:
    """(N, A * channels, H, W) per level -> (N * sum(H W A), channels),
    in the anchor order of MMDetection's ``get_targets``."""
    return torch.cat(
        [m.permute(0, 2, 3, 1).reshape(m.size(0), -1, channels) for m in maps],
        dim=1).reshape(-1, channels)


def _flatten_targets(per_level: List[Tensor], channels: int) -> Tensor:
    return torch.cat(per_level, dim=1).reshape(-1, channels)


def rpn_distill_terms(losses: nn.ModuleDict,
                      student: tuple,
                      teacher: tuple,
                      targets: dict,
                      *,
                      soft_weight: float,
                      decoder: Optional[nn.Module] = None,
                      diag: Optional[dict] = None) -> dict:
    """RPN KD on the sampled anchors and bounded regression on positives.

    Args:
        student, teacher: ``(cls_scores, bbox_preds)``, lists per level of
            ``(N, A * cls_channels, H, W)`` and ``(N, A * 4, H, W)``.
        targets: the student's anchor targets (``targets.anchor_targets``).
        decoder: the student RPN's bbox coder when it regresses decoded
            boxes (``reg_decoded_bbox``): the targets are then boxes, and
            both heads' deltas are decoded on the anchors first.
        diag: filled with the ``diag.*`` statistics when given.
    """
    s_shapes = [m.shape for m in student[0] + student[1]]
    t_shapes = [m.shape for m in teacher[0] + teacher[1]]
    if s_shapes != t_shapes:
        raise RuntimeError(
            f'TwoStageDistiller: RPN outputs of student {s_shapes} and '
            f'teacher {t_shapes} are not on the same anchor grid; give both '
            'the same backbone stride and anchor generator, or disable '
            'distill_losses.rpn_kd / rpn_reg')
    out = {}
    avg_factor = targets['avg_factor']
    if 'rpn_kd' in losses:
        channels = student[0][0].size(1) // (student[1][0].size(1) // 4)
        s_cls = _flatten_levels(student[0], channels)
        t_cls = _flatten_levels(teacher[0], channels)
        weights = _flatten_targets(targets['label_weights'], 1).squeeze(1)
        sampled = weights > 0
        if channels == 1:  # sigmoid objectness: logits of shape (N,)
            s_cls, t_cls = s_cls.squeeze(1), t_cls.squeeze(1)
        out['distill.loss_rpn_kd'] = soft_weight * losses['rpn_kd'](
            s_cls[sampled],
            t_cls[sampled],
            weight=weights[sampled],
            avg_factor=avg_factor)
        if diag is not None:
            labels = _flatten_targets(targets['labels'], 1).squeeze(1)
            stats = teacher_cls_stats(
                t_cls[sampled], labels[sampled], sigmoid=channels == 1)
            diag.update({f'diag.t_rpn_{k}': v for k, v in stats.items()})
    if 'rpn_reg' in losses:
        s_reg = _flatten_levels(student[1], 4)
        t_reg = _flatten_levels(teacher[1], 4)
        bbox_targets = _flatten_targets(targets['bbox_targets'], 4)
        bbox_weights = _flatten_targets(targets['bbox_weights'], 4)
        pos = bbox_weights.sum(dim=1) > 0
        if decoder is not None:
            anchors = _flatten_targets(targets['anchors'], 4)
            s_reg = get_box_tensor(decoder.decode(anchors, s_reg))
            t_reg = get_box_tensor(decoder.decode(anchors, t_reg))
        out['distill.loss_rpn_reg'] = losses['rpn_reg'](
            s_reg[pos],
            t_reg[pos],
            bbox_targets[pos],
            weight=bbox_weights[pos],
            avg_factor=avg_factor)
        if diag is not None:
            diag['diag.rpn_bound_active'] = bound_active(
                s_reg[pos], t_reg[pos], bbox_targets[pos], bbox_weights[pos],
                getattr(losses['rpn_reg'], 'margin', 0.0))
    return out
