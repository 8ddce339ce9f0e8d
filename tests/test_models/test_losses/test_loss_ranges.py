"""The values the paper's equations constrain are checked when a loss is
built, through the registry as a config builds them; the message names the
value and the allowed range."""
import pytest
import torch

import mmkd  # noqa: F401
from mmkd.registry import MODELS
from mmkd.utils.errors import ConfigError


@pytest.fixture(autouse=True)
def mmkd_scope():
    from mmengine.registry import init_default_scope
    init_default_scope('mmkd')  # whatever an earlier test left current


@pytest.mark.parametrize('cfg, message', [
    (dict(type='WeightedKDLoss', T=0.0), 'T=0.0 must be a number > 0'),
    (dict(type='WeightedKDLoss', T=-1), 'T=-1 must be a number > 0'),
    (dict(type='WeightedKDLoss', T=float('nan')), 'T=nan must be'),
    (dict(type='WeightedKDLoss', T='1'), "T='1' must be a number"),
    (dict(type='WeightedKDLoss', fg_weight=-0.5), 'fg_weight=-0.5 must be a '
     'number >= 0'),
    (dict(type='WeightedKDLoss', bg_weight=-1.5), 'bg_weight=-1.5 must be a '
     'number >= 0'),
    (dict(type='WeightedKDLoss', loss_weight=-1.0), 'loss_weight=-1.0 must '
     'be a number >= 0'),
    (dict(type='TeacherBoundedRegLoss', margin=-0.1), 'margin=-0.1 must be '
     'a number >= 0'),
    (dict(type='TeacherBoundedRegLoss', margin=float('inf')), 'margin=inf'),
    (dict(type='TeacherBoundedRegLoss', loss_weight=-0.5), 'loss_weight='
     '-0.5 must be a number >= 0'),
    (dict(type='L2RegDistillLoss', loss_weight=-0.5), 'loss_weight=-0.5'),
    (dict(type='HintAdaptLoss', loss_weight=-0.5), 'loss_weight=-0.5 must '
     'be a number >= 0'),
    (dict(type='HintAdaptLoss', loss_weight=True), 'loss_weight=True'),
    (dict(type='PKDLoss', loss_weight=-6), 'loss_weight=-6 must be a number '
     '>= 0'),
    (dict(type='PKDLoss', eps=0.0), 'eps=0.0 must be a number > 0'),
    (dict(type='CWDLoss', tau=0), r'tau=0 must be a number > 0 \(the '
     r'temperature\)'),
    (dict(type='CWDLoss', loss_weight=float('nan')), 'loss_weight=nan'),
])
def test_out_of_range_values_are_refused(cfg, message):
    with pytest.raises(ConfigError, match=message) as info:
        MODELS.build(cfg)
    assert str(info.value).startswith(f"{cfg['type']}: ")


@pytest.mark.parametrize('cfg', [
    dict(
        type='WeightedKDLoss', T=0.5, fg_weight=0, bg_weight=0, loss_weight=0),
    dict(type='TeacherBoundedRegLoss', margin=0, loss_weight=0),
    dict(type='HintAdaptLoss', loss_weight=0),
    dict(type='PKDLoss', loss_weight=0),
    dict(type='CWDLoss', tau=1e-3, loss_weight=0),
])
def test_range_boundaries_are_accepted(cfg):
    """0 switches a weight off and is a legal value."""
    assert MODELS.build(cfg) is not None


def test_distiller_names_the_term_of_a_bad_value():
    from mmengine.config import Config

    from mmkd.testing import ROOT
    cfg = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
    cfg.distill_losses.rcn_kd.T = 0
    with pytest.raises(
            ConfigError, match=r'distill_losses\.rcn_kd: WeightedKDLoss: T=0'):
        MODELS.build(cfg)


@pytest.mark.parametrize('loss_cfg, args', [
    (dict(type='WeightedKDLoss'), ((3, 4), (3, 4))),
    (dict(type='WeightedKDLoss', use_sigmoid=True), ((5, ), (5, ))),
    (dict(type='TeacherBoundedRegLoss'), ((3, 4), (3, 4), (3, 4))),
    (dict(type='L2RegDistillLoss'), ((3, 4), (3, 4))),
    (dict(type='HintAdaptLoss'), ((2, 3, 4, 4), (2, 3, 4, 4))),
    (dict(type='PKDLoss'), ((2, 3, 4, 4), (2, 3, 4, 4))),
    (dict(type='CWDLoss', tau=2.0), ((2, 3, 4, 4), (2, 3, 4, 4))),
])
def test_float32_under_autocast_from_bfloat16_inputs(loss_cfg, args):
    """bfloat16 inputs under an enclosing autocast give a float32 loss equal
    to the float32 computation on the same (bfloat16-representable) values;
    the gradient reaches the bfloat16 student in its own dtype."""
    torch.manual_seed(0)
    loss = MODELS.build(loss_cfg)
    inputs = [torch.randn(shape).mul(10).bfloat16() for shape in args]
    inputs[0].requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = loss(*inputs)
    reference = loss(*[x.detach().float() for x in inputs])
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, reference, rtol=1e-6, atol=1e-6)
    value.backward()
    assert inputs[0].grad.dtype == torch.bfloat16
