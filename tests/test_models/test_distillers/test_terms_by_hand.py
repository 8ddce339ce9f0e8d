"""The distiller's four output terms recomputed row by row, by hand, from
the raw outputs of a student and a *different* teacher; and mu's weight on
the hard classification losses."""
import copy
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.registry import MODELS
from mmkd.testing import ROOT, distiller_batch

init_default_scope('mmkd')
KD = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
TEACHER = Config.fromfile(f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
W_BG = 1.5  # the paper's background weight (chen2017.py)


def _build(**overrides):
    cfg = copy.deepcopy(KD)
    cfg.teacher, cfg.random_teacher = copy.deepcopy(TEACHER), True
    for key, value in overrides.items():
        cfg[key] = value
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _spy(obj, name, store):
    """Wrap ``obj.name`` to append its outputs (and positional args) to
    ``store``."""
    real = getattr(obj, name)

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        store.append((args, out))
        return out

    setattr(obj, name, spy)


def test_mu_weighs_the_hard_classification_losses():
    """Same batch, same sampling: the hard classification losses scale with
    mu and the soft terms with 1 - mu; box losses do not change."""
    losses = {}
    for mu in (0.25, 0.5):
        model = _build(hard_weight=mu)
        torch.manual_seed(2)  # the same anchor and RoI sampling
        losses[mu] = model.loss(*distiller_batch(model, seed=1))
    a, b = losses[0.25], losses[0.5]
    torch.testing.assert_close(a['student.loss_cls'],
                               0.5 * b['student.loss_cls'])
    for x, y in zip(a['student.loss_rpn_cls'], b['student.loss_rpn_cls']):
        torch.testing.assert_close(x, 0.5 * y)
    for key in ('distill.loss_rpn_kd', 'distill.loss_rcn_kd'):
        torch.testing.assert_close(a[key], 1.5 * b[key])  # 0.75 / 0.5
    torch.testing.assert_close(a['student.loss_bbox'], b['student.loss_bbox'])
    assert b['student.loss_cls'] > 0 and b['distill.loss_rcn_kd'] > 0


def _kd_row_sigmoid(s, t):
    """-(p_t log p_s + w_bg (1 - p_t) log(1 - p_s)) for one anchor."""
    p_s, p_t = 1 / (1 + math.exp(-s)), 1 / (1 + math.exp(-t))
    return -(p_t * math.log(p_s) + W_BG * (1 - p_t) * math.log(1 - p_s))


def _kd_row_softmax(s, t):
    """-sum_c w_c softmax(t)_c log softmax(s)_c, background last."""
    log_z = math.log(sum(math.exp(v) for v in s))
    z_t = sum(math.exp(v) for v in t)
    return -sum((W_BG if c == len(s) - 1 else 1.0) * math.exp(t[c]) / z_t *
                (s[c] - log_z) for c in range(len(s)))


def _bounded_row(s, t, y, w):
    """(value, kept) of the teacher-bounded L2 loss for one sample."""
    e_s = sum(wj * (sj - yj)**2 for sj, yj, wj in zip(s, y, w))
    e_t = sum(wj * (tj - yj)**2 for tj, yj, wj in zip(t, y, w))
    return (e_s, True) if e_s > e_t else (0.0, False)


def _rpn_by_hand(s_out, t_out, targets, mu):
    """rpn_kd and rpn_reg, anchor by anchor, level by level."""
    labels, label_w, bbox_t, bbox_w, avg = targets
    kd = reg = 0.0
    kept = []
    for lvl, (s_cls, s_reg, t_cls, t_reg) in enumerate(zip(*s_out, *t_out)):
        for i in range(s_cls.size(0)):
            # (A, H, W) -> rows in (h, w, a) order, as the anchors
            sc = s_cls[i].permute(1, 2, 0).reshape(-1).tolist()
            tc = t_cls[i].permute(1, 2, 0).reshape(-1).tolist()
            sr = s_reg[i].permute(1, 2, 0).reshape(-1, 4).tolist()
            tr = t_reg[i].permute(1, 2, 0).reshape(-1, 4).tolist()
            for row in range(len(sc)):
                w = label_w[lvl][i, row].item()
                if w > 0:
                    kd += w * _kd_row_sigmoid(sc[row], tc[row])
                bw = bbox_w[lvl][i, row].tolist()
                if sum(bw) > 0:
                    value, keep = _bounded_row(sr[row], tr[row],
                                               bbox_t[lvl][i,
                                                           row].tolist(), bw)
                    reg += value
                    kept.append(keep)
    return (1 - mu) * kd / avg, 0.5 * reg / avg, kept


def _rcn_by_hand(s_out, t_out, targets, num_classes, mu):
    """rcn_kd and rcn_reg, RoI by RoI."""
    labels, label_w, bbox_t, bbox_w = targets
    kd = reg = 0.0
    kept, count = [], 0
    for r in range(labels.size(0)):
        if label_w[r] > 0:
            count += 1
            kd += label_w[r].item() * _kd_row_softmax(
                s_out['cls_score'][r].tolist(), t_out['cls_score'][r].tolist())
        c = labels[r].item()
        if c < num_classes:  # a positive: the deltas of its class
            cols = slice(4 * c, 4 * c + 4)
            value, keep = _bounded_row(s_out['bbox_pred'][r, cols].tolist(),
                                       t_out['bbox_pred'][r, cols].tolist(),
                                       bbox_t[r].tolist(), bbox_w[r].tolist())
            reg += value
            kept.append(keep)
    return ((1 - mu) * kd / count, 0.5 * reg / labels.size(0), kept)


def test_terms_by_hand_with_a_perturbed_teacher():
    """Teacher = the student's architecture with perturbed weights, so
    every term is non-trivial; the four terms equal their definitions
    (Chen et al., Eq. 2-5) evaluated row by row on the two models' raw
    outputs, on the student's sampled anchors and RoIs."""
    mu = 0.3
    terms = {k: v for k, v in KD['distill_losses'].items() if k != 'hint'}
    model = _build(
        teacher=copy.deepcopy(KD['student']),
        distill_losses=terms,
        hard_weight=mu)
    torch.manual_seed(3)
    state = model.student.state_dict()
    model.teacher.load_state_dict({
        k:
        v + 0.3 * v.std() * torch.randn_like(v)
        if v.is_floating_point() and v.numel() > 1 else v
        for k, v in state.items()
    })
    model.eval()  # the same BN statistics in both passes
    inputs, samples = distiller_batch(model, seed=1)
    anchor_targets, roi_targets, roi_runs = [], [], []
    _spy(model.student.rpn_head, 'get_targets', anchor_targets)
    _spy(model.student.roi_head.bbox_head, 'get_targets', roi_targets)
    _spy(model.student.roi_head, '_bbox_forward', roi_runs)
    with torch.no_grad():
        losses = model.loss(inputs, samples)
        s_feats = model.student.extract_feat(inputs)
        t_feats = model.teacher.extract_feat(inputs)
        s_rpn = model.student.rpn_head(s_feats)
        t_rpn = model.teacher.rpn_head(t_feats)
        [((_, rois), s_roi)] = roi_runs
        t_roi = model.teacher.roi_head._bbox_forward(t_feats, rois)
    assert not torch.allclose(s_roi['cls_score'], t_roi['cls_score'])
    rpn_kd, rpn_reg, rpn_kept = _rpn_by_hand(s_rpn, t_rpn,
                                             anchor_targets[0][1], mu)
    rcn_kd, rcn_reg, rcn_kept = _rcn_by_hand(
        s_roi, t_roi, roi_targets[0][1][:4],
        model.student.roi_head.bbox_head.num_classes, mu)
    # both branches of the bound occur, so the per-sample decision is tested
    assert any(rpn_kept) and not all(rpn_kept), rpn_kept
    assert any(rcn_kept) and not all(rcn_kept), rcn_kept
    for key, value in dict(
            rpn_kd=rpn_kd, rpn_reg=rpn_reg, rcn_kd=rcn_kd,
            rcn_reg=rcn_reg).items():
        assert losses[f'distill.loss_{key}'].item() == pytest.approx(
            value, rel=1e-4), key
