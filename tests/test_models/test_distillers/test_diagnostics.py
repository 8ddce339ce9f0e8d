"""TwoStageDistiller(diagnostics=N): the diag.* statistics."""
import copy
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.models.distillers.diagnostics import bound_active, teacher_cls_stats
from mmkd.registry import MODELS
from mmkd.testing import ROOT, distiller_batch

init_default_scope('mmkd')


def test_teacher_cls_stats_by_hand():
    # softmax over 3 columns (background last): rows argmax 0, 2
    logits = torch.tensor([[2., 0., 0.], [0., 0., 0.]])
    stats = teacher_cls_stats(logits, torch.tensor([0, 1]), sigmoid=False)
    assert stats['acc'].item() == pytest.approx(0.5)  # row 2 argmax is 0
    # uniform row: entropy log 3; row 1: p = (e^2, 1, 1) / (e^2 + 2)
    p = torch.tensor([math.exp(2), 1., 1.]) / (math.exp(2) + 2)
    h1 = -(p * p.log()).sum().item()
    assert stats['entropy'].item() == pytest.approx((h1 + math.log(3)) / 2)
    # sigmoid objectness: label 0 is the foreground
    sig = teacher_cls_stats(
        torch.tensor([3., -3., 0.]), torch.tensor([0, 1, 0]), sigmoid=True)
    # p = 0.953, 0.047, 0.5: the first two right, 0.5 is not > 0.5
    assert sig['acc'].item() == pytest.approx(2 / 3)


def test_bound_active_share():
    target = torch.zeros(3, 4)
    student = torch.tensor([[1., 0, 0, 0], [0.1, 0, 0, 0], [2., 0, 0, 0]])
    teacher = torch.tensor([[0.5, 0, 0, 0], [0.5, 0, 0, 0], [2., 0, 0, 0]])
    # e_s = 1, 0.01, 4; e_t = 0.25, 0.25, 4: active where e_s > e_t
    assert bound_active(student, teacher, target, None, 0.0).item() == \
        pytest.approx(1 / 3)
    # margin 0.5: 1.5 > .25, .51 > .25, 4.5 > 4
    assert bound_active(student, teacher, target, None, 0.5).item() == 1.0


def test_distiller_logs_diagnostics_without_changing_the_loss():
    kd = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
    kd.teacher = Config.fromfile(
        f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
    kd.random_teacher = True
    torch.manual_seed(0)
    plain = MODELS.build(copy.deepcopy(kd))
    kd.diagnostics = 1
    diag = MODELS.build(copy.deepcopy(kd))
    diag.load_state_dict(plain.state_dict())
    diag.teacher.load_state_dict(plain.teacher.state_dict())
    inputs, samples = distiller_batch(plain, seed=1)
    outs = []
    for model in (plain, diag):
        torch.manual_seed(2)  # same anchor / RoI sampling
        outs.append(model.loss(inputs, samples))
    keys = {k for k in outs[1] if k.startswith('diag.')}
    assert {
        'diag.t_rpn_acc', 'diag.t_rpn_entropy', 'diag.t_rcn_acc',
        'diag.t_rcn_entropy', 'diag.rpn_bound_active', 'diag.rcn_bound_active',
        'diag.grad_hint', 'diag.grad_rcn_kd'
    } <= keys
    for key in keys:
        assert 'loss' not in key
        assert math.isfinite(outs[1][key].item())
    for key in ('diag.t_rcn_acc', 'diag.rcn_bound_active'):
        assert 0.0 <= outs[1][key].item() <= 1.0
    assert outs[1]['diag.grad_hint'].item() > 0
    # the total loss is the same: diag.* keys are not summed
    total = [
        model.parse_losses(out)[0] for model, out in zip((plain, diag), outs)
    ]
    torch.testing.assert_close(total[0], total[1])
