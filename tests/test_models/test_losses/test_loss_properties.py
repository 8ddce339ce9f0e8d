"""Property-based checks of the three distillation losses."""
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmkd.models.losses import (HintAdaptLoss, TeacherBoundedRegLoss,
                                WeightedKDLoss)

SETTINGS = settings(max_examples=50, deadline=None)
LOGITS = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
VALUES = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
WEIGHTS = st.floats(0, 3, allow_nan=False, allow_infinity=False)


def tensor(draw, shape, elements):
    return torch.from_numpy(draw(arrays(np.float64, shape, elements=elements)))


@st.composite
def kd_inputs(draw):
    n = draw(st.integers(1, 8))
    use_sigmoid = draw(st.booleans())
    shape = (n, ) if use_sigmoid else (n, draw(st.integers(2, 5)))
    return dict(
        student=tensor(draw, shape, LOGITS),
        teacher=tensor(draw, shape, LOGITS),
        weight=tensor(draw, (n, ), WEIGHTS),
        loss=WeightedKDLoss(
            fg_weight=draw(WEIGHTS),
            bg_weight=draw(WEIGHTS),
            T=draw(st.floats(0.5, 4)),
            use_sigmoid=use_sigmoid),
        perm=torch.from_numpy(np.array(draw(st.permutations(range(n))))))


@st.composite
def reg_inputs(draw):
    n = draw(st.integers(1, 8))
    weight_shape = draw(st.sampled_from([(n, ), (n, 4)]))
    return dict(
        student=tensor(draw, (n, 4), VALUES),
        teacher=tensor(draw, (n, 4), VALUES),
        target=tensor(draw, (n, 4), VALUES),
        weight=tensor(draw, weight_shape, WEIGHTS),
        margin=draw(st.floats(0, 5)),
        perm=torch.from_numpy(np.array(draw(st.permutations(range(n))))))


@st.composite
def hint_inputs(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    student_hw = draw(st.sampled_from([(h, w), (2 * h, w), (1, 1)]))
    return dict(
        student=tensor(draw, (n, c) + student_hw, VALUES),
        teacher=tensor(draw, (n, c, h, w), VALUES),
        p=draw(st.sampled_from([1, 2])),
        perm=torch.from_numpy(np.array(draw(st.permutations(range(n))))))


def assert_finite_non_negative(values):
    assert torch.isfinite(values).all()
    assert (values >= 0).all(), values


@SETTINGS
@given(kd_inputs())
def test_kd_finite_non_negative_and_order_invariant(d):
    loss, perm = d['loss'], d['perm']
    values = loss(d['student'], d['teacher'], reduction_override='none')
    assert_finite_non_negative(values)
    for reduction in ('mean', 'sum'):
        kwargs = dict(weight=d['weight'], reduction_override=reduction)
        value = loss(d['student'], d['teacher'], **kwargs)
        permuted = loss(
            d['student'][perm],
            d['teacher'][perm],
            weight=d['weight'][perm],
            reduction_override=reduction)
        assert torch.isfinite(value) and value >= 0
        torch.testing.assert_close(value, permuted)


@SETTINGS
@given(kd_inputs(), st.floats(0.1, 3))
def test_kd_with_equal_class_weights_is_minimal_at_teacher(d, w):
    # Gibbs: -sum p log q >= -sum p log p, so with one weight for all
    # classes the loss is smallest when the student equals the teacher.
    # (Not true for fg_weight != bg_weight in general.)
    loss = WeightedKDLoss(
        fg_weight=w,
        bg_weight=w,
        T=d['loss'].T,
        use_sigmoid=d['loss'].use_sigmoid,
        reduction='none')
    at_teacher = loss(d['teacher'], d['teacher'])
    assert (loss(d['student'], d['teacher']) >= at_teacher - 1e-9).all()


@SETTINGS
@given(reg_inputs())
def test_bounded_finite_non_negative_order_invariant(d):
    loss = TeacherBoundedRegLoss(margin=d['margin'])
    perm = d['perm']
    tensors = (d['student'], d['teacher'], d['target'])
    values = loss(*tensors, weight=d['weight'], reduction_override='none')
    assert_finite_non_negative(values)
    for reduction in ('mean', 'sum'):
        value = loss(
            *tensors, weight=d['weight'], reduction_override=reduction)
        permuted = loss(
            *(x[perm] for x in tensors),
            weight=d['weight'][perm],
            reduction_override=reduction)
        torch.testing.assert_close(value, permuted)


@SETTINGS
@given(reg_inputs())
def test_bounded_is_zero_or_student_error_and_grows_with_margin(d):
    tensors = (d['student'], d['teacher'], d['target'])
    e_s = (d['student'] - d['target']).pow(2).sum(dim=1)
    small = TeacherBoundedRegLoss(loss_weight=1., reduction='none')
    large = TeacherBoundedRegLoss(
        margin=d['margin'], loss_weight=1., reduction='none')
    for values in (small(*tensors), large(*tensors)):
        assert ((values == 0) | (values == e_s)).all()
    # a larger margin keeps every sample a smaller one keeps
    assert (large(*tensors) >= small(*tensors)).all()


@SETTINGS
@given(reg_inputs())
def test_bounded_zero_when_student_equals_teacher(d):
    loss = TeacherBoundedRegLoss(reduction='none')
    values = loss(
        d['student'], d['student'].clone(), d['target'], weight=d['weight'])
    assert (values == 0).all()


@SETTINGS
@given(hint_inputs())
def test_hint_finite_non_negative_order_invariant(d):
    loss = HintAdaptLoss(p=d['p'])
    perm = d['perm']
    assert_finite_non_negative(
        loss(d['student'], d['teacher'], reduction_override='none'))
    for reduction in ('mean', 'sum'):
        value = loss(d['student'], d['teacher'], reduction_override=reduction)
        permuted = loss(
            d['student'][perm],
            d['teacher'][perm],
            reduction_override=reduction)
        # float32 sums in another order: equal up to rounding
        torch.testing.assert_close(value, permuted, rtol=1e-5, atol=1e-6)


@SETTINGS
@given(hint_inputs())
def test_hint_zero_when_student_equals_teacher(d):
    loss = HintAdaptLoss(p=d['p'])
    assert loss(d['teacher'], d['teacher'].clone()).item() == 0.
