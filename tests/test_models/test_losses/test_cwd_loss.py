"""CWDLoss (Shu et al., ICCV 2021) against values worked out by hand."""
import math

import pytest
import torch

import mmkd  # noqa: F401
from mmkd.models.losses import CWDLoss, cwd_loss
from mmkd.registry import MODELS
from mmkd.utils.errors import ConfigError

LN3 = math.log(3.)
# tau = 1, one channel, two positions: t = [0, ln 3] -> phi(t) = [1/4, 3/4];
# s = [0, 0] -> phi(s) = [1/2, 1/2];
# KL = 1/4 ln(1/2) + 3/4 ln(3/2) = -0.1732868 + 0.3040988 = 0.1308120
KL_1 = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)


def pair():
    return torch.tensor([[[[0., 0.]]]]), torch.tensor([[[[0., LN3]]]])


def test_kl_by_hand():
    student, teacher = pair()
    torch.testing.assert_close(
        cwd_loss(student, teacher), torch.tensor([[KL_1]]))
    assert abs(KL_1 - 0.1308120) < 1e-7
    # the default weight, 10 per level
    torch.testing.assert_close(CWDLoss()(student, teacher),
                               torch.tensor(10 * KL_1))
    # a constant added to a channel changes nothing
    torch.testing.assert_close(
        CWDLoss(loss_weight=1.)(student + 5., teacher + 2.),
        torch.tensor(KL_1))
    # the same distributions: 0
    assert CWDLoss()(teacher.clone(), teacher).item() == 0.


def test_temperature_by_hand():
    """tau = 2: phi(t) = softmax([0, ln 3 / 2]) = [1, sqrt 3] / (1 + sqrt 3)
    = [0.3660254, 0.6339746], phi(s) = [1/2, 1/2];
    KL = 0.3660254 ln 0.7320508 + 0.6339746 ln 1.2679492
       = -0.1141653 + 0.1505061 = 0.0363408; times tau^2 = 4: 0.1453631."""
    p = 1 / (1 + math.sqrt(3))
    kl = p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p))
    assert abs(4 * kl - 0.1453631) < 1e-7
    student, teacher = pair()
    torch.testing.assert_close(
        CWDLoss(tau=2., loss_weight=1.)(student, teacher),
        torch.tensor(4 * kl))


def test_mean_over_images_and_channels():
    """Image 0: channel 0 the pair above, channel 1 the same maps swapped
    in role: t = [0, 0] (phi 1/2), s = [0, ln 3] (phi [1/4, 3/4]):
    KL = 1/2 ln 2 + 1/2 ln(2/3) = 0.1438410. Image 1: identical maps, 0.
    'mean' = (0.1308120 + 0.1438410 + 0 + 0) / (N C = 4)."""
    kl_2 = 0.5 * math.log(2.) + 0.5 * math.log(2. / 3.)
    s0, t0 = pair()
    student = torch.cat([torch.cat([s0, t0], 1), torch.ones(1, 2, 1, 2)])
    teacher = torch.cat([torch.cat([t0, s0], 1), torch.ones(1, 2, 1, 2)])
    loss_fn = CWDLoss(loss_weight=1.)
    torch.testing.assert_close(
        loss_fn(student, teacher, reduction_override='none'),
        torch.tensor([[KL_1, kl_2], [0., 0.]]))
    torch.testing.assert_close(
        loss_fn(student, teacher), torch.tensor((KL_1 + kl_2) / 4))
    torch.testing.assert_close(
        loss_fn(student, teacher, reduction_override='sum'),
        torch.tensor(KL_1 + kl_2))
    torch.testing.assert_close(
        loss_fn(student, teacher, avg_factor=2.),
        torch.tensor((KL_1 + kl_2) / 2))


def padded_batch():
    """Image 0: the pair above on all 2 + 2 positions
    t = [0, ln 3, 0, ln 3], s = 0: phi(t) = [1, 3, 1, 3] / 8,
    KL = 2 (1/8 ln(1/2) + 3/8 ln(3/2)) = 0.1308120 (the same as the pair).
    Image 1: the pair, then two positions of batch padding (0 in both).
    Masked: each image 0.1308120, mean 0.1308120.
    With the padding in the softmax, image 1 is t = [0, ln 3, 0, 0]:
    phi(t) = [1, 3, 1, 1] / 6 against 1/4 each:
    KL = 3 * 1/6 ln(2/3) + 1/2 ln 2 = 0.1438410, mean 0.1373265."""
    student = torch.zeros(2, 1, 1, 4)
    teacher = torch.tensor([[[[0., LN3, 0., LN3]]], [[[0., LN3, 0., 0.]]]])
    mask = torch.tensor([[[[1., 1., 1., 1.]]], [[[1., 1., 0., 0.]]]])
    return student, teacher, mask


def test_padding_takes_no_share_of_the_softmax():
    student, teacher, mask = padded_batch()
    loss_fn = CWDLoss(loss_weight=1.)
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=mask), torch.tensor(KL_1))
    unmasked = (KL_1 + 0.5 * math.log(2.) + 0.5 * math.log(2. / 3.)) / 2
    assert abs(unmasked - 0.1373265) < 1e-6
    torch.testing.assert_close(
        loss_fn(student, teacher), torch.tensor(unmasked))
    # whatever the padding holds
    student[1, ..., 2:] = torch.tensor([-100., 50.])
    teacher[1, ..., 2:] = torch.tensor([80., -3.])
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=mask), torch.tensor(KL_1))


def test_gradient_by_hand_and_none_on_padding():
    """d/ds_p tau^2 KL = tau (phi(s)_p - phi(t)_p).

    tau = 1, image 1 of the padded batch on its 2 positions:
    [1/2 - 1/4, 1/2 - 3/4] = [0.25, -0.25], over N C = 2 images;
    tau = 2 on the pair: 2 ([1/2, 1/2] - [0.3660254, 0.6339746])
    = [0.2679492, -0.2679492]."""
    student, teacher, mask = padded_batch()
    student[1, ..., 2:] = torch.tensor([-100., 50.])
    student.requires_grad_()
    teacher.requires_grad_()
    CWDLoss(loss_weight=1.)(student, teacher, weight=mask).backward()
    torch.testing.assert_close(student.grad[1, 0, 0],
                               torch.tensor([0.125, -0.125, 0., 0.]))
    assert teacher.grad is None
    student, teacher = pair()
    student.requires_grad_()
    CWDLoss(tau=2., loss_weight=1.)(student, teacher).backward()
    torch.testing.assert_close(student.grad[0, 0, 0],
                               torch.tensor([0.2679492, -0.2679492]))


def test_gradcheck_with_padding():
    torch.manual_seed(0)
    student = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    teacher = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    mask = torch.ones(2, 1, 3, 4, dtype=torch.float64)
    mask[1, :, 2:, :] = 0
    assert torch.autograd.gradcheck(
        lambda s: CWDLoss(tau=2.)(s, teacher, weight=mask), (student, ))


def test_degenerate_inputs_stay_finite():
    # one position: both distributions are [1], KL 0
    one = torch.randn(2, 3, 1, 1, requires_grad=True)
    assert CWDLoss()(one, torch.randn(2, 3, 1, 1)).item() == 0.
    # an image without a position that counts: 0, finite gradients
    student, teacher, mask = padded_batch()
    student.requires_grad_()
    mask[1] = 0
    loss = CWDLoss(loss_weight=1.)(student, teacher, weight=mask)
    torch.testing.assert_close(loss, torch.tensor(KL_1 / 2))
    loss.backward()
    assert student.grad[1].abs().sum() == 0
    assert torch.isfinite(student.grad).all()
    # large activations: a stable softmax, no overflow
    big = CWDLoss(loss_weight=1.)(torch.zeros(1, 1, 1, 2),
                                  torch.tensor([[[[1000., 1000. + LN3]]]]))
    torch.testing.assert_close(big, torch.tensor(KL_1))


@pytest.mark.parametrize('shape', [(0, 2, 3, 3), (1, 2, 0, 0)])
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_empty_input_is_finite_zero_and_backpropagates(shape, reduction):
    student = torch.zeros(shape, requires_grad=True)
    loss = CWDLoss(reduction=reduction)(student, torch.zeros(shape))
    assert loss.shape == () and loss.item() == 0.
    loss.backward()
    assert student.grad is not None and student.grad.shape == shape


def test_errors():
    student, teacher = pair()
    with pytest.raises(ValueError) as info:
        CWDLoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 8, 2, 2))
    assert str(info.value).startswith('CWDLoss: the student feature has 4 '
                                      'channels but the teacher hint has 8')
    with pytest.raises(
            ValueError,
            match=r'CWDLoss: weight must be a '
            r'\(N, 1, H, W\) = \(1, 1, 1, 2\) mask'):
        CWDLoss()(student, teacher, weight=torch.ones(2, 1, 1, 2))
    with pytest.raises(ConfigError, match='CWDLoss: tau=0 must be a number >'):
        CWDLoss(tau=0)
    with pytest.raises(ConfigError, match='CWDLoss: loss_weight=-1 must be'):
        CWDLoss(loss_weight=-1)


def test_build_from_registry():
    loss_fn = MODELS.build(dict(type='CWDLoss', tau=2., loss_weight=3.))
    assert isinstance(loss_fn, CWDLoss) and loss_fn.tau == 2.
    torch.testing.assert_close(loss_fn(*pair()), torch.tensor(3 * 0.1453631))
