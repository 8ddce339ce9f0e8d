"""How a detector's RoI head scores its own proposals, on images with
ground truth: the statistics behind a class-weighted soft cross-entropy.

A distilled RoI head is trained on ``mu * CE(label) + (1 - mu) * s *
L_soft`` with ``L_soft = -sum_c w_c p_t(c) log p_s(c)`` at T = 1 (the
paper's Eq. 2; ``s`` is the soft term's ``loss_weight``, which the paper
does not have, i.e. 1). Over the student's distributions this is smallest
at ``p_s(c) ∝ mu [c = label] + (1 - mu) s w_c p_t(c)`` (a Lagrange
multiplier on ``sum_c p_s(c) = 1``): a background weight ``w_bg`` above
the objects' raises the background's share of every target the teacher
gives any background probability. :func:`roi_score_stats` measures where a
trained RoI head's probabilities sit on the proposals it keeps at test
time, and that target on the same proposals.
"""
import inspect
from typing import Dict, List, NamedTuple, Optional

import torch


class Objective(NamedTuple):
    """The RoI head's classification objective of a distiller at T = 1;
    :func:`distiller_objective` reads it from a config.

    Attributes:
        hard_weight (float): mu, the weight of the hard (label) term.
        soft_weight (float): s, the soft term's ``loss_weight``.
        fg_weight (float): w_c of the object classes.
        bg_weight (float): w_c of the background.
    """
    hard_weight: float
    soft_weight: float
    fg_weight: float
    bg_weight: float


def distiller_objective(model_cfg: dict) -> Optional[Objective]:
    """The objective a distiller config trains its RoI head on: its
    ``hard_weight`` and ``distill_losses.rcn_kd``, with the defaults of
    ``TwoStageDistiller`` and of the loss for what the config leaves out.
    None without an ``rcn_kd`` term, or at T != 1."""
    from mmengine.registry import DefaultScope

    from mmkd.models.distillers import TwoStageDistiller
    from mmkd.registry import MODELS
    kd_cfg = (model_cfg.get('distill_losses') or {}).get('rcn_kd')
    if not kd_cfg:
        return None
    with DefaultScope.overwrite_default_scope('mmkd'):
        kd = MODELS.build(kd_cfg)
    if kd.T != 1:
        return None
    default_mu = inspect.signature(
        TwoStageDistiller).parameters['hard_weight'].default
    return Objective(
        hard_weight=model_cfg.get('hard_weight', default_mu),
        soft_weight=kd.loss_weight,
        fg_weight=kd.fg_weight,
        bg_weight=kd.bg_weight)


def optimal_target(teacher_probs, labels, objective: Objective):
    """``(N, C + 1)``: the distribution that minimises ``objective`` for
    RoIs of ``labels`` with the teacher's ``teacher_probs``."""
    weight = teacher_probs.new_full(teacher_probs.shape[1:],
                                    objective.fg_weight)
    weight[-1] = objective.bg_weight
    mass = (1 - objective.hard_weight) * objective.soft_weight * (
        weight * teacher_probs)
    mass[torch.arange(len(labels)), labels] += objective.hard_weight
    return mass / mass.sum(1, keepdim=True)


@torch.no_grad()
def roi_score_stats(model,
                    batches: List[dict],
                    *,
                    iou_thr: float = 0.5,
                    score_thr: float = 0.05,
                    teacher=None,
                    objective: Optional[Objective] = None) -> Dict[str, float]:
    """Class probabilities of ``model``'s RoI head on its test proposals.

    A proposal whose best IoU with a ground-truth box is ``>= iou_thr`` is
    a positive of that box's class; one below it is a negative.

    Args:
        model: a two-stage detector in eval mode (``rpn_head``,
            ``roi_head``), e.g. :func:`mmkd.analysis.speed.build_deployed`.
        batches: data batches as the test loader yields them, with
            ``gt_instances`` (the test pipeline loads annotations).
        iou_thr: IoU of a positive proposal.
        score_thr: the test-time score threshold of the RoI head; a
            positive whose true class scores below it yields no detection.
        teacher: optional second detector scored on the *same* proposals
            (``teacher_*`` keys).
        objective: with ``teacher``, also the background probability of
            the distribution that minimises this objective on each
            positive (``target_bg_pos``, see :func:`optimal_target`).

    Returns:
        dict: ``positives`` / ``negatives`` (counts), and means over them:
        ``p_bg_pos`` (background probability of the positives), ``p_true``
        (probability of the true class), ``acc_pos`` (argmax is the true
        class), ``kept_pos`` (true class scores ``>= score_thr``) and
        ``p_bg_neg``; with ``teacher`` also ``teacher_p_bg_pos``,
        ``teacher_p_true`` and ``teacher_p_bg_neg``, and with
        ``objective`` ``target_bg_pos``.
    """
    from mmdet.structures.bbox import bbox2roi, bbox_overlaps
    sums: Dict[str, float] = {}
    counts = dict(positives=0, negatives=0)

    def add(key, values):
        sums[key] = sums.get(key, 0.0) + float(values.sum())

    for raw in batches:
        data = model.data_preprocessor(raw, False)
        samples = data['data_samples']
        feats = model.extract_feat(data['inputs'])
        proposals = model.rpn_head.predict(feats, samples, rescale=False)
        boxes = [p.bboxes for p in proposals]
        rois = bbox2roi(boxes)
        probs = {'': _probs(model, feats, rois)}
        if teacher is not None:
            t_data = teacher.data_preprocessor(raw, False)
            probs['teacher_'] = _probs(teacher,
                                       teacher.extract_feat(t_data['inputs']),
                                       rois)
        start = 0
        for sample, props in zip(samples, boxes):
            end = start + len(props)
            gt = sample.gt_instances
            scale = sample.metainfo.get('scale_factor', (1.0, 1.0))
            gt_boxes = getattr(gt.bboxes, 'tensor', gt.bboxes).float()
            gt_boxes = gt_boxes * props.new_tensor(scale).repeat(2)
            if len(gt_boxes) and len(props):
                best, arg = bbox_overlaps(props, gt_boxes).max(1)
            else:
                best = props.new_zeros(len(props))
                arg = best.long()
            pos = best >= iou_thr
            labels = gt.labels[arg[pos]]
            counts['positives'] += int(pos.sum())
            counts['negatives'] += int((~pos).sum())
            for prefix, p in probs.items():
                p = p[start:end]
                add(prefix + 'p_bg_pos', p[pos, -1])
                add(prefix + 'p_bg_neg', p[~pos, -1])
                true = p[pos].gather(1, labels[:, None])[:, 0]
                add(prefix + 'p_true', true)
                if not prefix:
                    add('acc_pos', (p[pos].argmax(1) == labels).float())
                    add('kept_pos', (true >= score_thr).float())
                elif objective is not None:
                    target = optimal_target(p[pos], labels, objective)
                    add('target_bg_pos', target[:, -1])
            start = end
    stats: Dict[str, float] = dict(counts)
    for key, total in sums.items():
        side = 'negatives' if key.endswith('_neg') else 'positives'
        n = counts[side]
        stats[key] = total / n if n else float('nan')
    return stats


def _probs(model, feats, rois):
    """Softmax over the classes and the background (last) of each RoI."""
    out = model.roi_head._bbox_forward(feats, rois)
    return out['cls_score'].float().softmax(-1)
