import pytest
import torch

import mmkd  # noqa: F401
from mmkd.models.losses import (L2RegDistillLoss, TeacherBoundedRegLoss,
                                l2_reg_distill_loss, teacher_bounded_reg_loss)
from mmkd.registry import MODELS

TARGET = torch.tensor([[1., 2., 3., 4.], [1., 2., 3., 4.]])


def mixed_batch(requires_grad=False):
    """Sample 0 is above the teacher bound, sample 1 below it.

    sample 0: s - y = [1, 0, 0, 0]   -> e_s = 1
              t - y = [.5, 0, 0, 0]  -> e_t = 0.25;  1 + 0 > 0.25: keep, 1
    sample 1: s - y = [.5, .5, 0, 0] -> e_s = 0.5
              t - y = [1, 0, 0, 0]   -> e_t = 1;   0.5 + 0 > 1 fails: 0
    Per sample the values are [1, 0], mean 0.5. A decision on batch means
    (mean e_s 0.75 > mean e_t 0.625) would keep both: mean 0.75.
    """
    student = TARGET + torch.tensor([[1., 0., 0., 0.], [.5, .5, 0., 0.]])
    teacher = TARGET + torch.tensor([[.5, 0., 0., 0.], [1., 0., 0., 0.]])
    return student.requires_grad_(requires_grad), teacher.requires_grad_(
        requires_grad)


def test_per_sample_decision():
    student, teacher = mixed_batch()
    values = teacher_bounded_reg_loss(student, teacher, TARGET)
    torch.testing.assert_close(values, torch.tensor([1., 0.]))


def test_per_sample_decision_differs_from_batch_mean_decision():
    # sample 0: e_s = 1, e_t = 0.25 -> keep 1
    # sample 1: e_s = 0.04 + 0.01 = 0.05, e_t = 1 -> drop
    # batch means: e_s 0.525 < e_t 0.625, a batch rule would give 0;
    # per sample the mean is (1 + 0) / 2 = 0.5
    student = TARGET + torch.tensor([[1., 0., 0., 0.], [.2, .1, 0., 0.]])
    teacher = TARGET + torch.tensor([[.5, 0., 0., 0.], [1., 0., 0., 0.]])
    loss = TeacherBoundedRegLoss(loss_weight=1.0)(student, teacher, TARGET)
    torch.testing.assert_close(loss, torch.tensor(0.5))


def test_margin():
    # s - y = [1, 1, 0, 0] -> e_s = 2; t - y = [1, 1, 1, 0] -> e_t = 3
    target = torch.zeros(1, 4)
    student = torch.tensor([[1., 1., 0., 0.]])
    teacher = torch.tensor([[1., 1., 1., 0.]])

    def value(margin):
        return teacher_bounded_reg_loss(
            student, teacher, target, margin=margin).item()

    assert value(0.) == 0.  # 2 + 0 > 3 fails
    assert value(1.) == 0.  # 2 + 1 > 3 fails (strict)
    assert value(1.5) == 2.  # 2 + 1.5 > 3 holds: e_s = 2
    # a negative margin drops a sample that is only slightly worse
    # sample 0 of mixed_batch: 1 - 1 > 0.25 fails
    s, t = mixed_batch()
    assert teacher_bounded_reg_loss(s, t, TARGET, margin=-1.).sum() == 0.
    loss = TeacherBoundedRegLoss(margin=1.5, loss_weight=1.0)
    assert loss(student, teacher, target).item() == 2.


def test_tie_gives_zero():
    # e_s == e_t: e_s + 0 > e_t fails
    student, _ = mixed_batch()
    values = teacher_bounded_reg_loss(student, student.clone(), TARGET)
    torch.testing.assert_close(values, torch.zeros(2))


def test_reductions_avg_factor_override():
    student, teacher = mixed_batch()
    loss_fn = TeacherBoundedRegLoss()  # loss_weight 0.5, values [1, 0]
    torch.testing.assert_close(
        loss_fn(student, teacher, TARGET), torch.tensor(0.25))
    torch.testing.assert_close(
        loss_fn(student, teacher, TARGET, reduction_override='sum'),
        torch.tensor(0.5))
    torch.testing.assert_close(
        loss_fn(student, teacher, TARGET, reduction_override='none'),
        torch.tensor([0.5, 0.]))
    # (1 + 0) / 4 * 0.5
    torch.testing.assert_close(
        loss_fn(student, teacher, TARGET, avg_factor=4.), torch.tensor(0.125))
    loss_sum = TeacherBoundedRegLoss(loss_weight=2., reduction='sum')
    torch.testing.assert_close(
        loss_sum(student, teacher, TARGET), torch.tensor(2.))


def test_weight_per_sample_and_elementwise():
    student, teacher = mixed_batch()
    # (N,) weight 3 on sample 0: e_s = 3, e_t = 0.75 -> keep 3
    values = teacher_bounded_reg_loss(
        student, teacher, TARGET, weight=torch.tensor([3., 1.]))
    torch.testing.assert_close(values, torch.tensor([3., 0.]))
    # (N, 4) weight enters the decision too:
    # s - y = [1, 1, 0, 0], t - y = [0, 0, 2, 0]
    # unweighted: e_s = 2 > e_t = 4 fails -> 0
    # weight [1, 1, 0, 0]: e_s = 2, e_t = 0 -> keep 2
    # weight [0, 1, 0, 0]: e_s = 1, e_t = 0 -> keep 1
    target = torch.zeros(1, 4)
    s = torch.tensor([[1., 1., 0., 0.]])
    t = torch.tensor([[0., 0., 2., 0.]])
    assert teacher_bounded_reg_loss(s, t, target).item() == 0.
    for w, expected in [([1., 1., 0., 0.], 2.), ([0., 1., 0., 0.], 1.)]:
        value = teacher_bounded_reg_loss(
            s, t, target, weight=torch.tensor([w]))
        assert value.item() == expected


def test_gradients():
    # sample 0 kept: d/ds (0.5 * mean) = 0.5 * 1/2 * 2 (s - y) = [.5, 0, 0, 0]
    # sample 1 dropped: zero gradient; the teacher gets none at all
    student, teacher = mixed_batch(requires_grad=True)
    TeacherBoundedRegLoss()(student, teacher, TARGET).backward()
    torch.testing.assert_close(
        student.grad, torch.tensor([[.5, 0., 0., 0.], [0., 0., 0., 0.]]))
    assert teacher.grad is None


@pytest.mark.parametrize('kwargs', [{}, {
    'avg_factor': 0.
}, {
    'avg_factor': 3.
}, {
    'reduction_override': 'sum'
}])
@pytest.mark.parametrize('loss_type',
                         [TeacherBoundedRegLoss, L2RegDistillLoss])
def test_empty_input_is_finite_zero_and_backpropagates(loss_type, kwargs):
    student = torch.zeros(0, 4, requires_grad=True)
    teacher = torch.zeros(0, 4)
    loss = loss_type()(student, teacher, torch.zeros(0, 4), **kwargs)
    assert loss.shape == () and loss.item() == 0.
    loss.backward()
    assert student.grad is not None and student.grad.shape == (0, 4)
    none = loss_type(reduction='none')(student, teacher, torch.zeros(0, 4))
    assert none.shape == (0, )


def test_l2_reg_distill_values_and_gradient():
    # s - t = [1, 0, 0, -2] -> 1 + 4 = 5 (unbounded, the target is ignored)
    student = torch.tensor([[1., 2., 3., 4.]], requires_grad=True)
    teacher = torch.tensor([[0., 2., 3., 6.]], requires_grad=True)
    assert l2_reg_distill_loss(student, teacher).item() == 5.
    w4 = torch.tensor([[1., 1., 1., 0.]])  # drops the -2: 1
    assert l2_reg_distill_loss(student, teacher, weight=w4).item() == 1.
    w1 = torch.tensor([2.])  # 2 * 5
    assert l2_reg_distill_loss(student, teacher, weight=w1).item() == 10.

    loss_fn = L2RegDistillLoss()  # loss_weight 0.5
    loss = loss_fn(student, teacher, torch.zeros(1, 4))
    assert loss.item() == 2.5
    # d/ds 0.5 * (s - t)^2 summed = (s - t) = [1, 0, 0, -2]
    loss.backward()
    torch.testing.assert_close(student.grad, torch.tensor([[1., 0., 0., -2.]]))
    assert teacher.grad is None
    assert loss_fn(student, teacher, avg_factor=4.).item() == 0.625
    assert loss_fn(
        student, teacher, weight=w1, reduction_override='sum').item() == 5.


def test_l2_differs_from_bounded_when_student_beats_teacher():
    # sample 1 of mixed_batch: the student is closer to y than the teacher;
    # bounded: 0; plain L2 pulls it to the teacher: (-.5)^2 + .5^2 = 0.5
    student, teacher = mixed_batch()
    bounded = TeacherBoundedRegLoss(reduction='none', loss_weight=1.)
    l2 = L2RegDistillLoss(reduction='none', loss_weight=1.)
    assert bounded(student, teacher, TARGET)[1].item() == 0.
    assert l2(student, teacher, TARGET)[1].item() == 0.5


def test_build_from_registry():
    student, teacher = mixed_batch()
    bounded = MODELS.build(
        dict(type='TeacherBoundedRegLoss', margin=1.5, loss_weight=1.))
    assert isinstance(bounded, TeacherBoundedRegLoss)
    # margin 1.5: sample 1 kept too: 0.5 + 1.5 > 1 -> mean (1 + 0.5) / 2
    torch.testing.assert_close(
        bounded(student, teacher, TARGET), torch.tensor(0.75))
    l2 = MODELS.build(dict(type='L2RegDistillLoss', reduction='sum'))
    assert isinstance(l2, L2RegDistillLoss)
    # sample 0: 0.5^2; sample 1: 0.5^2 + 0.5^2 -> 0.75 * loss_weight 0.5
    torch.testing.assert_close(
        l2(student, teacher, TARGET), torch.tensor(0.375))


def test_errors():
    student, teacher = mixed_batch()
    with pytest.raises(ValueError, match='foo'):
        TeacherBoundedRegLoss(reduction='foo')
    with pytest.raises(ValueError, match='foo'):
        L2RegDistillLoss(reduction='foo')
    with pytest.raises(ValueError, match='bar'):
        TeacherBoundedRegLoss()(
            student, teacher, TARGET, reduction_override='bar')
    with pytest.raises(ValueError, match=r'\(2, 4\) or \(2,\)'):
        TeacherBoundedRegLoss()(
            student, teacher, TARGET, weight=torch.ones(2, 1))
    with pytest.raises(ValueError, match=r'\(2, 4\), \(2, 3\), \(2, 4\)'):
        TeacherBoundedRegLoss()(student, teacher[:, :3], TARGET)
    with pytest.raises(ValueError, match=r'\(2, 4\), \(1, 4\)'):
        L2RegDistillLoss()(student, teacher[:1])
