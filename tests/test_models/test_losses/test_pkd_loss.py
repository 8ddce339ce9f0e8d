"""PKDLoss (Cao et al., NeurIPS 2022) against values worked out by hand."""
import pytest
import torch

import mmkd  # noqa: F401
from mmkd.models.losses import PKDLoss, pkd_loss
from mmkd.registry import MODELS
from mmkd.utils.errors import ConfigError

# eps = 1e-6 on variances of 1.25 moves the values by under 1e-6 relative.
CLOSE = dict(rtol=1e-5, atol=1e-6)


def image0():
    """One channel, 1 x 4 positions.

    s = [1, 2, 3, 4]: mean 2.5, deviations [-1.5, -0.5, 0.5, 1.5],
                      variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    t = [1, 3, 2, 4]: mean 2.5, deviations [-1.5, 0.5, -0.5, 1.5],
                      variance 1.25
    r = (2.25 - 0.25 - 0.25 + 2.25) / 4 / 1.25 = 0.8    -> 1 - r = 0.2
    by the MSE: s^ - t^ = [0, -1, 1, 0] / sqrt(1.25), squares sum to
    2 / 1.25 = 1.6, over 2 P = 8: 0.2
    """
    return (torch.tensor([[[[1., 2., 3.,
                             4.]]]]), torch.tensor([[[[1., 3., 2., 4.]]]]))


def padded_batch():
    """image 0 (all 4 positions) and image 1, whose last two positions are
    batch padding.

    image 1 on its 2 positions: s = [1, 3], t = [2, 0]: r = -1 -> 1 - r = 2
    masked mean over images: (0.2 + 2) / 2 = 1.1

    with the padding counted, image 1 is s = [1, 3, 9, 9], t = [2, 0, -5, 7]:
    deviations [-4.5, -2.5, 3.5, 3.5] and [1, -1, -6, 6], covariance
    (-4.5 + 2.5 - 21 + 21) / 4 = -0.5, variances 51 / 4 and 74 / 4:
    r = -0.5 / sqrt(12.75 * 18.5) = -0.032557 -> 1 - r = 1.032557,
    mean (0.2 + 1.032557) / 2 = 0.616279
    """
    s0, t0 = image0()
    student = torch.cat([s0, torch.tensor([[[[1., 3., 9., 9.]]]])])
    teacher = torch.cat([t0, torch.tensor([[[[2., 0., -5., 7.]]]])])
    mask = torch.tensor([[[[1., 1., 1., 1.]]], [[[1., 1., 0., 0.]]]])
    return student, teacher, mask


def test_one_minus_pearson_by_hand():
    student, teacher = image0()
    torch.testing.assert_close(
        pkd_loss(student, teacher), torch.tensor([[0.2]]), **CLOSE)
    # the default weight, 6 per level: 6 * 0.2
    torch.testing.assert_close(PKDLoss()(student, teacher), torch.tensor(1.2),
                               **CLOSE)
    # the magnitude does not count: 10 s + 3 has the same correlation
    torch.testing.assert_close(
        PKDLoss(loss_weight=1.)(10 * student + 3, teacher), torch.tensor(0.2),
        **CLOSE)
    # a reversed student: r = -0.8 -> 1.8
    torch.testing.assert_close(
        PKDLoss(loss_weight=1.)(student, teacher.flip(-1)), torch.tensor(1.8),
        **CLOSE)


def test_statistics_are_per_image_and_channel():
    """Channel 1 is image0's student scaled by 100 and shifted, against the
    teacher reversed in sign (r = -0.8 -> 1.8): each channel has its own
    mean and variance. Two images of other scales and offsets give 0.2
    each, whatever the other image (batch-wide statistics would not)."""
    s0, t0 = image0()
    student = torch.cat([s0, 100 * s0 - 7], dim=1)  # (1, 2, 1, 4)
    teacher = torch.cat([t0, -t0 + 40], dim=1)
    torch.testing.assert_close(
        pkd_loss(student, teacher), torch.tensor([[0.2, 1.8]]), **CLOSE)
    both = pkd_loss(torch.cat([s0, 50 * s0]), torch.cat([t0, t0 + 40]))
    torch.testing.assert_close(both, torch.tensor([[0.2], [0.2]]), **CLOSE)


def test_padding_is_left_out_of_statistics_and_sum():
    student, teacher, mask = padded_batch()
    loss_fn = PKDLoss(loss_weight=1.)
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=mask), torch.tensor(1.1), **CLOSE)
    torch.testing.assert_close(
        loss_fn(student, teacher), torch.tensor(0.616279), **CLOSE)
    # the padded image gives what it gives alone, un-padded
    torch.testing.assert_close(
        loss_fn(student[1:, ..., :2], teacher[1:, ..., :2]), torch.tensor(2.),
        **CLOSE)
    # 'none': (N, C) per image and channel; 'sum'; avg_factor
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=mask, reduction_override='none'),
        torch.tensor([[0.2], [2.]]), **CLOSE)
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=mask, reduction_override='sum'),
        torch.tensor(2.2), **CLOSE)
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=mask, avg_factor=4.),
        torch.tensor(0.55), **CLOSE)
    # a mask, not a weight: 3 counts as 1
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=3 * mask), torch.tensor(1.1), **CLOSE)


def test_gradient_by_hand_and_none_on_padding():
    """d(1 - r)/ds_p = -(t^_p - r s^_p) / (P sigma_s).

    image 0: sigma_s^2 = 1.25, r = 0.8, sigma_s (t^ - r s^) = [-1.5, 0.5,
    -0.5, 1.5] - 0.8 [-1.5, -0.5, 0.5, 1.5] = [-0.3, 0.9, -0.9, 0.3]
    -> gradient -[-0.3, 0.9, -0.9, 0.3] / (4 * 1.25) = [0.06, -0.18, 0.18,
    -0.06]; the mean over 2 images halves it. Image 1's padding gets none.
    """
    student, teacher, mask = padded_batch()
    student.requires_grad_()
    teacher.requires_grad_()
    PKDLoss(loss_weight=1.)(student, teacher, weight=mask).backward()
    torch.testing.assert_close(student.grad[0, 0, 0],
                               torch.tensor([0.06, -0.18, 0.18, -0.06]) / 2,
                               **CLOSE)
    assert student.grad[1, 0, 0, 2:].tolist() == [0., 0.]
    assert teacher.grad is None


def test_gradcheck_with_padding():
    torch.manual_seed(0)
    student = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    teacher = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    mask = torch.ones(2, 1, 3, 4, dtype=torch.float64)
    mask[1, :, 2:, :] = 0
    mask[1, :, :, 3:] = 0
    assert torch.autograd.gradcheck(
        lambda s: PKDLoss()(s, teacher, weight=mask), (student, ))


def test_degenerate_channels_stay_finite():
    """A constant student channel standardises to 0: the value is half the
    teacher's standardised energy, 0.5 (up to eps), with a finite gradient
    -t^_q / (P sqrt(eps)) = -250 t^_q for P = 4, eps = 1e-6,
    t^ = [-1.5, 0.5, -0.5, 1.5] / sqrt(1.25).
    One position per image: both standardise to 0 -> 0."""
    _, teacher = image0()
    student = torch.full_like(teacher, 2.).requires_grad_()
    loss = PKDLoss(loss_weight=1.)(student, teacher)
    torch.testing.assert_close(loss, torch.tensor(0.5), **CLOSE)
    loss.backward()
    t_hat = torch.tensor([-1.5, 0.5, -0.5, 1.5]) / 1.25**0.5
    torch.testing.assert_close(student.grad[0, 0, 0], -250 * t_hat, **CLOSE)
    one = torch.ones(2, 3, 1, 1, requires_grad=True)
    assert PKDLoss()(one, torch.randn(2, 3, 1, 1)).item() == 0.


@pytest.mark.parametrize('shape', [(0, 2, 3, 3), (1, 2, 0, 0)])
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_empty_input_is_finite_zero_and_backpropagates(shape, reduction):
    student = torch.zeros(shape, requires_grad=True)
    loss = PKDLoss(reduction=reduction)(student, torch.zeros(shape))
    assert loss.shape == () and loss.item() == 0.
    loss.backward()
    assert student.grad is not None and student.grad.shape == shape


def test_student_is_resized_to_the_teacher():
    # student 1 x 2 [0, 4] -> bilinear 1 x 4 [0, 1, 3, 4] (see the hint's
    # test): deviations [-2, -1, 1, 2] against image0's teacher
    # [-1.5, 0.5, -0.5, 1.5]: covariance (3 - 0.5 - 0.5 + 3) / 4 = 1.25,
    # variances 2.5 and 1.25: r = 1.25 / sqrt(3.125) = 0.707107
    _, teacher = image0()
    torch.testing.assert_close(
        PKDLoss(loss_weight=1.)(torch.tensor([[[[0., 4.]]]]), teacher),
        torch.tensor(1 - 0.5**0.5), **CLOSE)


def test_errors():
    student, teacher = image0()
    with pytest.raises(ValueError) as info:
        PKDLoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 8, 2, 2))
    assert str(info.value).startswith('PKDLoss: the student feature has 4 '
                                      'channels but the teacher hint has 8')
    assert "dict(type='HintAdapter', in_channels=4, out_channels=8)" in str(
        info.value)
    with pytest.raises(
            ValueError,
            match=r'PKDLoss: weight must be a '
            r'\(N, 1, H, W\) = \(1, 1, 1, 4\) mask'):
        PKDLoss()(student, teacher, weight=torch.ones(1, 1, 2, 4))
    with pytest.raises(ValueError, match=r'expects \(N, C, H, W\)'):
        PKDLoss()(student[0], teacher[0])
    with pytest.raises(ConfigError, match='PKDLoss: loss_weight=-6 must be'):
        PKDLoss(loss_weight=-6)
    with pytest.raises(ConfigError, match='PKDLoss: eps=0 must be a number >'):
        PKDLoss(eps=0)
    with pytest.raises(ValueError, match='foo'):
        PKDLoss(reduction='foo')


def test_build_from_registry():
    loss_fn = MODELS.build(dict(type='PKDLoss', loss_weight=2.))
    assert isinstance(loss_fn, PKDLoss) and loss_fn.loss_weight == 2.
    torch.testing.assert_close(loss_fn(*image0()), torch.tensor(0.4), **CLOSE)
