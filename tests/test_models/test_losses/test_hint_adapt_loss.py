import pytest
import torch

import mmkd  # noqa: F401
from mmkd.models.losses import HintAdaptLoss, hint_adapt_loss
from mmkd.registry import MODELS


def hint_batch(requires_grad=False):
    """Two samples, one channel, 2x2 maps.

    sample 0: s = [[1, 2], [3, 4]], t = [[0, 2], [5, 4]]
              s - t = [[1, 0], [-2, 0]] -> squared [1, 0, 4, 0], sum 5
                                          -> abs     [1, 0, 2, 0], sum 3
    sample 1: s = 0, t = 3 everywhere -> squared 9 x 4, sum 36
                                       -> abs     3 x 4, sum 12
    """
    student = torch.tensor([[[[1., 2.], [3., 4.]]], [[[0., 0.], [0., 0.]]]])
    teacher = torch.tensor([[[[0., 2.], [5., 4.]]], [[[3., 3.], [3., 3.]]]])
    return student.requires_grad_(requires_grad), teacher.requires_grad_(
        requires_grad)


def test_elementwise_values():
    student, teacher = hint_batch()
    torch.testing.assert_close(
        hint_adapt_loss(student, teacher)[0, 0],
        torch.tensor([[1., 0.], [4., 0.]]))
    torch.testing.assert_close(
        hint_adapt_loss(student, teacher, p=1)[0, 0],
        torch.tensor([[1., 0.], [2., 0.]]))


def test_reductions_p2():
    student, teacher = hint_batch()
    loss_fn = HintAdaptLoss(normalize='none')  # loss_weight 0.5
    # mean over all 8 elements: (5 + 36) / 8 = 5.125, times 0.5
    torch.testing.assert_close(
        loss_fn(student, teacher), torch.tensor(0.5 * 41 / 8))
    torch.testing.assert_close(
        loss_fn(student, teacher, reduction_override='sum'),
        torch.tensor(0.5 * 41))
    none = loss_fn(student, teacher, reduction_override='none')
    assert none.shape == (2, 1, 2, 2)
    torch.testing.assert_close(none[1], torch.full((1, 2, 2), 4.5))
    # avg_factor 2 (e.g. per image): 41 / 2 * 0.5
    torch.testing.assert_close(
        loss_fn(student, teacher, avg_factor=2.), torch.tensor(10.25))
    loss_sum = HintAdaptLoss(loss_weight=1., reduction='sum', normalize='none')
    torch.testing.assert_close(loss_sum(student, teacher), torch.tensor(41.))


def test_p1():
    student, teacher = hint_batch()
    loss_fn = HintAdaptLoss(p=1, loss_weight=1., normalize='none')
    # |s - t|: (3 + 12) / 8
    torch.testing.assert_close(loss_fn(student, teacher), torch.tensor(15 / 8))
    torch.testing.assert_close(
        loss_fn(student, teacher, reduction_override='sum'), torch.tensor(15.))


def test_weight_per_sample_and_mask():
    student, teacher = hint_batch()
    loss_fn = HintAdaptLoss(loss_weight=1., reduction='sum', normalize='none')
    # (N,) weight [1, 0] keeps sample 0: 5
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=torch.tensor([1., 0.])),
        torch.tensor(5.))
    # (N, 1, H, W) mask on pixel (0, 0) only: 1 (sample 0) + 9 (sample 1)
    mask = torch.zeros(2, 1, 2, 2)
    mask[:, :, 0, 0] = 1
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=mask), torch.tensor(10.))
    # 'mean' still divides by all 8 elements
    torch.testing.assert_close(
        loss_fn(student, teacher, weight=mask, reduction_override='mean'),
        torch.tensor(10 / 8))
    with pytest.raises(ValueError, match='weight must have shape'):
        loss_fn(student, teacher, weight=torch.ones(3))
    with pytest.raises(ValueError, match='weight must have shape'):
        loss_fn(student, teacher, weight=torch.ones(2, 1, 3, 3))


def test_gradients_reach_student_only():
    # d/ds [0.5 * mean (s - t)^2] = 0.5 * 2 (s - t) / 8 = (s - t) / 8
    student, teacher = hint_batch(requires_grad=True)
    HintAdaptLoss(normalize='none')(student, teacher).backward()
    torch.testing.assert_close(student.grad, (student - teacher).detach() / 8)
    assert teacher.grad is None


def test_resize_student_to_teacher_bilinear():
    # student [0, 4] (1x2) -> teacher size 1x4, bilinear, align_corners
    # False: source x = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25
    # (clamped to [0, 1]) -> [0, 0.75*0 + 0.25*4, 0.25*0 + 0.75*4, 4]
    #                      = [0, 1, 3, 4]
    # against a zero teacher: mean of [0, 1, 9, 16] = 26 / 4 = 6.5
    # (align_corners=True would give 56/9, nearest 8)
    student = torch.tensor([[[[0., 4.]]]], requires_grad=True)
    teacher = torch.zeros(1, 1, 1, 4)
    loss = HintAdaptLoss(loss_weight=1., normalize='none')(student, teacher)
    torch.testing.assert_close(loss, torch.tensor(6.5))
    # resized r = [a, .75a + .25b, .25a + .75b, b] = [0, 1, 3, 4]
    # dL/da = 2/4 * (1 * 0 + .75 * 1 + .25 * 3) = 0.75
    # dL/db = 2/4 * (.25 * 1 + .75 * 3 + 1 * 4) = 3.25
    loss.backward()
    torch.testing.assert_close(student.grad, torch.tensor([[[[.75, 3.25]]]]))


def test_equal_maps_give_zero():
    student, _ = hint_batch()
    for p in (1, 2):
        assert HintAdaptLoss(p=p)(student, student.clone()).item() == 0.


@pytest.mark.parametrize('kwargs', [{}, {
    'avg_factor': 0.
}, {
    'avg_factor': 2.
}, {
    'reduction_override': 'sum'
}])
def test_empty_input_is_finite_zero_and_backpropagates(kwargs):
    student = torch.zeros(0, 2, 3, 3, requires_grad=True)
    teacher = torch.zeros(0, 2, 3, 3)
    loss = HintAdaptLoss()(student, teacher, **kwargs)
    assert loss.shape == () and loss.item() == 0.
    loss.backward()
    assert student.grad is not None and student.grad.shape == (0, 2, 3, 3)


def test_channel_mismatch_tells_user_to_configure_adapter():
    with pytest.raises(ValueError) as info:
        HintAdaptLoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 8, 2, 2))
    message = str(info.value)
    assert '4 channels' in message and '8 channels' in message
    assert 'HintAdapter' in message
    assert "dict(type='HintAdapter', in_channels=4, out_channels=8)" in message
    assert 'distiller config' in message


def test_errors():
    with pytest.raises(ValueError, match='got 3'):
        HintAdaptLoss(p=3)
    with pytest.raises(ValueError, match='got 0'):
        hint_adapt_loss(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1), p=0)
    with pytest.raises(ValueError, match='foo'):
        HintAdaptLoss(reduction='foo')
    student, teacher = hint_batch()
    with pytest.raises(ValueError, match='bar'):
        HintAdaptLoss()(student, teacher, reduction_override='bar')
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        HintAdaptLoss()(student[0], teacher[0])
    with pytest.raises(ValueError, match='batch size'):
        HintAdaptLoss()(student[:1], teacher)


def test_build_from_registry():
    loss_fn = MODELS.build(
        dict(type='HintAdaptLoss', p=1, loss_weight=2., normalize='none'))
    assert isinstance(loss_fn, HintAdaptLoss)
    student, teacher = hint_batch()
    # 2 * 15 / 8, see test_p1
    torch.testing.assert_close(loss_fn(student, teacher), torch.tensor(30 / 8))


def test_teacher_normalisation_by_hand():
    """The default: the batch's error over the teacher's energy.

    squared errors: 5 (sample 0) + 36 (sample 1) = 41
    teacher energy: 0 + 4 + 25 + 16 = 45 and 9 x 4 = 36, total 81
    -> 41 / 81, times gamma 0.5
    p = 1: |errors| 3 + 12 = 15, |teacher| 11 + 12 = 23 -> 15 / 23
    """
    student, teacher = hint_batch()
    torch.testing.assert_close(HintAdaptLoss()(student, teacher),
                               torch.tensor(0.5 * 41 / 81))
    torch.testing.assert_close(
        HintAdaptLoss(p=1, loss_weight=1.)(student, teacher),
        torch.tensor(15 / 23))
    # 'sum' gives the same number; avg_factor still divides it
    torch.testing.assert_close(
        HintAdaptLoss(loss_weight=1.)(
            student, teacher, reduction_override='sum'), torch.tensor(41 / 81))
    torch.testing.assert_close(
        HintAdaptLoss(loss_weight=1.)(student, teacher, avg_factor=2.),
        torch.tensor(41 / 162))
    # 'none': the elementwise errors over the batch's energy
    none = HintAdaptLoss(loss_weight=1.)(
        student, teacher, reduction_override='none')
    torch.testing.assert_close(none[1], torch.full((1, 2, 2), 9 / 81))


def test_teacher_normalisation_counts_only_weighted_elements():
    """A padding mask (pixel (0, 0) only) masks the energy too:
    errors 1 + 9 = 10, teacher energy 0 + 9 = 9 -> 10 / 9."""
    student, teacher = hint_batch()
    mask = torch.zeros(2, 1, 2, 2)
    mask[:, :, 0, 0] = 1
    torch.testing.assert_close(
        HintAdaptLoss(loss_weight=1.)(student, teacher, weight=mask),
        torch.tensor(10 / 9))


def test_teacher_normalisation_is_scale_free_and_relative():
    """Scaling both maps leaves the loss unchanged; an all-zero student
    gives 1 (the teacher's whole energy) whatever the channels, a perfect
    one 0."""
    torch.manual_seed(0)
    loss_fn = HintAdaptLoss(loss_weight=1.)
    for channels in (8, 512):
        teacher = torch.randn(2, channels, 5, 5)
        student = torch.randn(2, channels, 5, 5)
        torch.testing.assert_close(
            loss_fn(student, teacher), loss_fn(100 * student, 100 * teacher))
        torch.testing.assert_close(
            loss_fn(torch.zeros_like(teacher), teacher), torch.tensor(1.))
        assert loss_fn(teacher.clone(), teacher).item() == 0.


def test_gradient_of_the_normalised_loss():
    # d/ds [0.5 * sum (s - t)^2 / 81] = (s - t) / 81; the teacher's energy
    # is a constant (no gradient reaches the teacher)
    student, teacher = hint_batch(requires_grad=True)
    HintAdaptLoss()(student, teacher).backward()
    torch.testing.assert_close(student.grad, (student - teacher).detach() / 81)
    assert teacher.grad is None


def test_unknown_normalisation_is_refused():
    with pytest.raises(ValueError, match="got 'channels'"):
        HintAdaptLoss(normalize='channels')
