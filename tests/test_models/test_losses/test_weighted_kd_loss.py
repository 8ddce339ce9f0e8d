import math

import pytest
import torch

import mmkd  # noqa: F401
from mmkd.models.losses import (WeightedKDLoss, weighted_sigmoid_kd_loss,
                                weighted_softmax_kd_loss)
from mmkd.registry import MODELS

LOG2, LOG3 = math.log(2), math.log(3)

# Softmax mode, 2 columns [fg, bg], w = [1.0, 1.5].
# Sample A: student [0, log 3] -> softmax [1/4, 3/4]
#           teacher [log 3, 0] -> softmax [3/4, 1/4]
#   -(1 * 3/4 * log(1/4) + 1.5 * 1/4 * log(3/4))
#   = 3/4 * log 4 + 3/8 * log(4/3) = 1.0397208 + 0.1078808 = 1.1476016
SOFTMAX_A = 0.75 * math.log(4) + 0.375 * math.log(4 / 3)
# Sample B: student [0, 0] -> [1/2, 1/2]; teacher [0, log 3] -> [1/4, 3/4]
#   -(1 * 1/4 * log(1/2) + 1.5 * 3/4 * log(1/2)) = 1.375 * log 2 = 0.9530780
SOFTMAX_B = 1.375 * LOG2
# Sigmoid mode, p = sigmoid(logit) is the fg probability.
# Sample A: student log 3 -> p_s = 3/4; teacher 0 -> p_t = 1/2
#   -(1 * 1/2 * log(3/4) + 1.5 * 1/2 * log(1/4))
#   = 1/2 * log(4/3) + 3/4 * log 4 = 0.1438410 + 1.0397208 = 1.1835618
SIGMOID_A = 0.5 * math.log(4 / 3) + 0.75 * math.log(4)
# Sample B: student 0 -> p_s = 1/2; teacher -log 3 -> p_t = 1/4
#   -(1 * 1/4 * log(1/2) + 1.5 * 3/4 * log(1/2)) = 1.375 * log 2 = 0.9530780
SIGMOID_B = 1.375 * LOG2


def softmax_batch(requires_grad=False):
    student = torch.tensor([[0., LOG3], [0., 0.]])
    teacher = torch.tensor([[LOG3, 0.], [0., LOG3]])
    return student.requires_grad_(requires_grad), teacher.requires_grad_(
        requires_grad)


def sigmoid_batch(requires_grad=False):
    student = torch.tensor([LOG3, 0.])
    teacher = torch.tensor([0., -LOG3])
    return student.requires_grad_(requires_grad), teacher.requires_grad_(
        requires_grad)


def test_softmax_per_sample_values():
    student, teacher = softmax_batch()
    values = weighted_softmax_kd_loss(student, teacher)
    torch.testing.assert_close(values, torch.tensor([SOFTMAX_A, SOFTMAX_B]))


def test_softmax_three_classes_background_is_last_column():
    # student [0, 0, log 2] -> [1/4, 1/4, 1/2]
    # teacher [0, log 2, 0] -> [1/4, 1/2, 1/4]; w = [1, 1, 1.5]
    # -(1/4 log(1/4) + 1/2 log(1/4) + 1.5 * 1/4 log(1/2))
    #   = 3/4 * 2 log 2 + 3/8 log 2 = 1.875 log 2 = 1.2996512
    student = torch.tensor([[0., 0., LOG2]])
    teacher = torch.tensor([[0., LOG2, 0.]])
    loss = weighted_softmax_kd_loss(student, teacher)
    torch.testing.assert_close(loss, torch.tensor([1.875 * LOG2]))
    # bg_weight = 3: -(1/4 log(1/4) + 1/2 log(1/4) + 3 * 1/4 log(1/2))
    #   = 1.5 log 2 + 0.75 log 2 = 2.25 log 2
    loss = weighted_softmax_kd_loss(student, teacher, bg_weight=3.0)
    torch.testing.assert_close(loss, torch.tensor([2.25 * LOG2]))


def test_softmax_temperature_scales_logits_and_loss():
    # logits / T with T = 2 equal sample A's logits, so the loss is T^2 * A
    student = torch.tensor([[0., 2 * LOG3]])
    teacher = torch.tensor([[2 * LOG3, 0.]])
    loss = weighted_softmax_kd_loss(student, teacher, T=2.0)
    torch.testing.assert_close(loss, torch.tensor([4 * SOFTMAX_A]))


@pytest.mark.parametrize('shape', [(2, ), (2, 1)])
def test_sigmoid_per_sample_values(shape):
    student, teacher = sigmoid_batch()
    values = weighted_sigmoid_kd_loss(student.view(shape), teacher.view(shape))
    torch.testing.assert_close(values, torch.tensor([SIGMOID_A, SIGMOID_B]))


def test_sigmoid_temperature():
    # (2 log 3) / 2 = log 3 and 0 / 2 = 0: sample A, times T^2 = 4
    values = weighted_sigmoid_kd_loss(
        torch.tensor([2 * LOG3]), torch.tensor([0.]), T=2.0)
    torch.testing.assert_close(values, torch.tensor([4 * SIGMOID_A]))


@pytest.mark.parametrize('use_sigmoid,a,b', [(False, SOFTMAX_A, SOFTMAX_B),
                                             (True, SIGMOID_A, SIGMOID_B)])
def test_module_reductions_weight_avg_factor(use_sigmoid, a, b):
    student, teacher = sigmoid_batch() if use_sigmoid else softmax_batch()
    loss_fn = WeightedKDLoss(use_sigmoid=use_sigmoid, loss_weight=2.0)

    def run(**kwargs):
        return loss_fn(student, teacher, **kwargs)

    # loss_weight = 2 multiplies every result
    torch.testing.assert_close(run(), torch.tensor(2 * (a + b) / 2))
    torch.testing.assert_close(
        run(reduction_override='sum'), torch.tensor(2 * (a + b)))
    torch.testing.assert_close(
        run(reduction_override='none'), torch.tensor([2 * a, 2 * b]))
    # avg_factor = 4: (a + b) / 4
    torch.testing.assert_close(
        run(avg_factor=4.), torch.tensor(2 * (a + b) / 4))
    # weight [3, 0]: per-sample values [3a, 0] before reduction
    weight = torch.tensor([3., 0.])
    torch.testing.assert_close(run(weight=weight), torch.tensor(2 * 3 * a / 2))
    torch.testing.assert_close(
        run(weight=weight, reduction_override='sum'), torch.tensor(6 * a))
    torch.testing.assert_close(
        run(weight=weight, avg_factor=2.), torch.tensor(2 * 3 * a / 2))
    torch.testing.assert_close(
        run(weight=weight, reduction_override='none'),
        torch.tensor([6 * a, 0.]))


def test_sum_reduction_in_constructor():
    student, teacher = softmax_batch()
    loss = WeightedKDLoss(reduction='sum')(student, teacher)
    torch.testing.assert_close(loss, torch.tensor(SOFTMAX_A + SOFTMAX_B))


def test_softmax_gradient_by_hand():
    # d/ds_j [-sum_c w_c p_c log q_c] = q_j * sum_c w_c p_c - w_j p_j
    # sample A: p = [3/4, 1/4], q = [1/4, 3/4], w = [1, 1.5]
    #   sum_c w_c p_c = 3/4 + 3/8 = 9/8
    #   grad = [1/4 * 9/8 - 3/4, 3/4 * 9/8 - 3/8] = [-15/32, 15/32]
    student, teacher = softmax_batch(requires_grad=True)
    WeightedKDLoss(reduction='sum')(student[:1], teacher[:1]).backward()
    torch.testing.assert_close(student.grad[0],
                               torch.tensor([-15 / 32, 15 / 32]))
    assert teacher.grad is None


def test_sigmoid_gradient_by_hand():
    # d/ds [-(fg p_t log sig(s) + bg (1 - p_t) log sig(-s))]
    #   = -(fg p_t (1 - sig(s)) - bg (1 - p_t) sig(s))
    # sample A: sig(s) = 3/4, p_t = 1/2: -(1/2 * 1/4 - 1.5 * 1/2 * 3/4)
    #   = -(1/8 - 9/16) = 7/16
    student, teacher = sigmoid_batch(requires_grad=True)
    loss_fn = WeightedKDLoss(use_sigmoid=True, reduction='sum')
    loss_fn(student[:1], teacher[:1]).backward()
    torch.testing.assert_close(student.grad, torch.tensor([7 / 16, 0.]))
    assert teacher.grad is None


@pytest.mark.parametrize('use_sigmoid,shape', [(False, (0, 3)), (True, (0, )),
                                               (True, (0, 1))])
@pytest.mark.parametrize('kwargs', [{}, {
    'avg_factor': 0.
}, {
    'avg_factor': 5.
}, {
    'reduction_override': 'sum'
}])
def test_empty_input_is_finite_zero_and_backpropagates(use_sigmoid, shape,
                                                       kwargs):
    student = torch.zeros(shape, requires_grad=True)
    teacher = torch.zeros(shape)
    loss = WeightedKDLoss(use_sigmoid=use_sigmoid)(student, teacher, **kwargs)
    assert loss.shape == ()
    assert loss.item() == 0.
    loss.backward()
    assert student.grad is not None and student.grad.shape == shape
    none = WeightedKDLoss(
        use_sigmoid=use_sigmoid, reduction='none')(student, teacher)
    assert none.shape == (0, )


def _softmax_reference(student, teacher, w):
    # float64, log q = s - logsumexp(s)
    log_q = student - torch.logsumexp(student, dim=1, keepdim=True)
    p = torch.exp(teacher - torch.logsumexp(teacher, dim=1, keepdim=True))
    return -(w * p * log_q).sum(dim=1)


def test_softmax_stable_for_large_logits():
    data = [[100., -100., 0.], [-100., 100., 50.]]
    student = torch.tensor(data, requires_grad=True)
    teacher = torch.tensor(data[::-1])
    # the naive formula underflows to log(0) = -inf here
    naive = torch.log(torch.softmax(student, dim=1))
    assert not torch.isfinite(naive).all()

    loss = WeightedKDLoss(reduction='sum')(student, teacher)
    loss.backward()
    student64 = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1., 1., 1.5], dtype=torch.float64)
    ref = _softmax_reference(student64, teacher.double(), w).sum()
    ref.backward()
    assert torch.isfinite(loss) and torch.isfinite(student.grad).all()
    # sample 0: teacher [-100, 100, 50] puts ~all mass on column 1 where
    # log q = -200, so the loss is about 200
    assert loss.item() > 200
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        student.grad.double(), student64.grad, rtol=1e-5, atol=1e-5)


def test_sigmoid_stable_for_large_logits():
    student = torch.tensor([100., -100., 100.], requires_grad=True)
    teacher = torch.tensor([-100., 100., 100.])
    loss = WeightedKDLoss(use_sigmoid=True, reduction='sum')(student, teacher)
    loss.backward()
    # float64 reference: log sig(x) = -log(1 + exp(-x))
    s = student.detach().double().requires_grad_()
    t = teacher.double()
    p_t = 1 / (1 + torch.exp(-t))
    ref = -(p_t * -torch.log1p(torch.exp(-s)) + 1.5 *
            (1 - p_t) * -torch.log1p(torch.exp(s))).sum()
    ref.backward()
    assert torch.isfinite(loss) and torch.isfinite(student.grad).all()
    # sample 0: bg weight 1.5 * log(1 + e^100) ~ 150; sample 1: ~ 100
    assert 249 < loss.item() < 251
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        student.grad.double(), s.grad, rtol=1e-5, atol=1e-5)


def test_build_from_registry():
    loss_fn = MODELS.build(
        dict(type='WeightedKDLoss', bg_weight=3.0, reduction='sum'))
    assert isinstance(loss_fn, WeightedKDLoss)
    student = torch.tensor([[0., 0., LOG2]])
    teacher = torch.tensor([[0., LOG2, 0.]])
    # see test_softmax_three_classes_background_is_last_column
    torch.testing.assert_close(
        loss_fn(student, teacher), torch.tensor(2.25 * LOG2))


def test_errors():
    with pytest.raises(ValueError, match='foo'):
        WeightedKDLoss(reduction='foo')
    student, teacher = softmax_batch()
    with pytest.raises(ValueError, match='bar'):
        WeightedKDLoss()(student, teacher, reduction_override='bar')
    with pytest.raises(ValueError, match='T=0.0 must be a number > 0'):
        WeightedKDLoss(T=0.)
    with pytest.raises(ValueError, match=r'\(2, 2\) and \(2, 3\)'):
        WeightedKDLoss()(student, torch.zeros(2, 3))
    with pytest.raises(ValueError, match='at least 2'):
        WeightedKDLoss()(torch.zeros(2, 1), torch.zeros(2, 1))
    with pytest.raises(ValueError, match=r'\(2, 2\)'):
        WeightedKDLoss(use_sigmoid=True)(student, teacher)
    with pytest.raises(ValueError, match='weight must have shape'):
        WeightedKDLoss()(student, teacher, weight=torch.ones(2, 1))
    with pytest.raises(ValueError, match='avg_factor'):
        WeightedKDLoss(reduction='sum')(student, teacher, avg_factor=2.)
