"""distill_warmup_iters: the distillation ramps in over the first
iterations; 0 (the paper) keeps full weights from the start."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.registry import MODELS
from mmkd.testing import ROOT, distiller_batch

init_default_scope('mmkd')
KD = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
KD.teacher = Config.fromfile(
    f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
KD.random_teacher = True  # the mechanics, not a trained teacher


def _losses(model, inputs, samples, iteration):
    MessageHub.get_current_instance().update_info('iter', iteration)
    torch.manual_seed(2)  # the same anchor and RoI sampling
    out = model.loss(inputs, samples)
    return {
        k: (sum(v) if isinstance(v, list) else v).item()
        for k, v in out.items() if 'loss' in k
    }


def test_ramp_scales_the_terms_and_blends_mu():
    torch.manual_seed(0)
    paper = MODELS.build(copy.deepcopy(KD))
    ramped = MODELS.build(dict(copy.deepcopy(KD), distill_warmup_iters=4))
    ramped.load_state_dict(paper.state_dict())
    ramped.teacher.load_state_dict(paper.teacher.state_dict())
    inputs, samples = distiller_batch(paper)
    full = _losses(paper, inputs, samples, 0)
    # iteration 0 of 4: ramp 1/4, mu = 1 - 1/4 * (1 - 0.5) = 0.875
    first = _losses(ramped, inputs, samples, 0)
    for key in ('distill.loss_hint', 'distill.loss_rpn_reg',
                'distill.loss_rcn_reg'):
        assert first[key] == pytest.approx(full[key] / 4, rel=1e-5), key
    # soft terms: (1 - mu) = 0.125 instead of 0.5; hard: 0.875 of 0.5
    for key in ('distill.loss_rcn_kd', 'distill.loss_rpn_kd'):
        assert first[key] == pytest.approx(full[key] / 4, rel=1e-5), key
    for key in ('student.loss_cls', 'student.loss_rpn_cls'):
        assert first[key] == pytest.approx(
            full[key] * 0.875 / 0.5, rel=1e-5), key
    # the regression and the student's box losses are not ramped
    assert first['student.loss_bbox'] == pytest.approx(
        full['student.loss_bbox'], rel=1e-5)
    # from iteration 3 (the 4th) on: the paper's weights
    late = _losses(ramped, inputs, samples, 3)
    for key, value in full.items():
        assert late[key] == pytest.approx(value, rel=1e-5), key


def test_bad_warmup_is_refused():
    with pytest.raises(ValueError, match='distill_warmup_iters=-1'):
        MODELS.build(dict(copy.deepcopy(KD), distill_warmup_iters=-1))
