"""The RoI-head distillation terms of one stage of the student's RoI head,
against its teacher's outputs on the same RoIs (``roi_seams`` says which
teacher stage that is)."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor, nn

from .diagnostics import bound_active, teacher_cls_stats


def gt_class_deltas(bbox_head: nn.Module, bbox_pred: Tensor, rois: Tensor,
                    labels: Tensor, pos: Tensor) -> Tensor:
    """``(num_pos, 4)``: the positives' deltas of their ground-truth class
    as ``bbox_head`` lays them out (class-agnostic or per class), picked as
    MMDetection's ``BBoxHead.loss`` picks them (decoded when the head
    regresses boxes)."""
    if bbox_head.reg_decoded_bbox:
        bbox_pred = get_box_tensor(
            bbox_head.bbox_coder.decode(rois[:, 1:], bbox_pred))
    if bbox_head.reg_class_agnostic:
        return bbox_pred.view(bbox_pred.size(0), -1)[pos]
    return bbox_pred.view(bbox_pred.size(0), bbox_head.num_classes,
                          -1)[pos, labels[pos]]


def rcn_distill_terms(losses: nn.ModuleDict,
                      heads: tuple,
                      s_out: Dict[str, Tensor],
                      t_out: Dict[str, Tensor],
                      rois: Tensor,
                      targets: tuple,
                      *,
                      soft_weight: float,
                      diag: Optional[dict] = None) -> dict:
    """RoI-head KD on every sampled RoI and bounded regression on positives.

    Args:
        heads: the student's and the teacher's box heads whose deltas are
            compared (each picks its own layout: a class-agnostic teacher
            can bound a per-class student, the units are checked equal).
        s_out, t_out: ``cls_score`` ``(num_rois, num_classes + 1)`` and
            ``bbox_pred`` of the student and the teacher on the same
            ``rois``; a key missing from ``t_out`` switches its term off
            for this stage.
        targets: the student's ``(labels, label_weights, bbox_targets,
            bbox_weights)``.
        diag: filled with the ``diag.*`` statistics when given.
    """
    labels, label_weights, bbox_targets, bbox_weights = targets
    out = {}
    if 'rcn_kd' in losses and 'cls_score' in t_out:
        avg_factor = max(float((label_weights > 0).sum()), 1.0)
        out['distill.loss_rcn_kd'] = soft_weight * losses['rcn_kd'](
            s_out['cls_score'],
            t_out['cls_score'],
            weight=label_weights,
            avg_factor=avg_factor)
        if diag is not None:
            sampled = label_weights > 0
            stats = teacher_cls_stats(
                t_out['cls_score'][sampled], labels[sampled], sigmoid=False)
            diag.update({f'diag.t_rcn_{k}': v for k, v in stats.items()})
    if 'rcn_reg' in losses and 'bbox_pred' in t_out:
        s_head, t_head = heads
        pos = (labels >= 0) & (labels < s_head.num_classes)
        s_reg = gt_class_deltas(s_head, s_out['bbox_pred'], rois, labels, pos)
        t_reg = gt_class_deltas(t_head, t_out['bbox_pred'], rois, labels, pos)
        out['distill.loss_rcn_reg'] = losses['rcn_reg'](
            s_reg,
            t_reg,
            bbox_targets[pos],
            weight=bbox_weights[pos],
            avg_factor=bbox_targets.size(0))
        if diag is not None:
            diag['diag.rcn_bound_active'] = bound_active(
                s_reg, t_reg, bbox_targets[pos], bbox_weights[pos],
                getattr(losses['rcn_reg'], 'margin', 0.0))
    return out


def gt_class_masks(mask_preds: Tensor, labels: Tensor) -> Tensor:
    """``(num_pos, M, M)``: each positive's mask logits of its ground-truth
    class (channel 0 of a class-agnostic head)."""
    if mask_preds.size(1) == 1:
        return mask_preds[:, 0]
    return mask_preds[torch.arange(len(labels), device=labels.device), labels]


def mask_distill_term(loss: nn.Module, s_masks: Tensor, t_masks: Tensor,
                      labels: Tensor) -> Tensor:
    """Mask distillation on the student's sampled positives (beyond the
    paper; ``distill_losses.mask_kd``, off in ``chen2017.py``)::

        L_mask_kd = T^2 / (P M^2) sum_i sum_u
                    -[p_t log p_s + (1 - p_t) log(1 - p_s)]
        p_s = sigmoid(m_s,iu / T),  p_t = sigmoid(m_t,iu / T)

    over the ``P`` positive RoIs ``i`` and the ``M x M`` pixels ``u`` of
    their ground-truth class's mask logits ``m`` (student and teacher on
    the same RoIs): the binary cross-entropy of the student's mask against
    the teacher's probabilities, as the student's own mask loss is against
    the ground truth (``WeightedKDLoss`` with ``use_sigmoid=True``;
    ``fg_weight`` / ``bg_weight`` weigh the two terms, 1 by default). A
    teacher mask of another resolution is resized (bilinear) to the
    student's.

    Args:
        s_masks, t_masks: ``(P, C or 1, M, M)`` mask logits.
        labels: ``(P,)`` the positives' ground-truth classes.
    """
    s_masks = gt_class_masks(s_masks, labels)
    t_masks = gt_class_masks(t_masks, labels)
    if t_masks.shape[-2:] != s_masks.shape[-2:] and len(t_masks):
        t_masks = F.interpolate(
            t_masks[:, None],
            size=s_masks.shape[-2:],
            mode='bilinear',
            align_corners=False)[:, 0]
    return loss(
        s_masks.reshape(-1),
        t_masks.reshape(-1),
        avg_factor=max(s_masks.numel(), 1))
