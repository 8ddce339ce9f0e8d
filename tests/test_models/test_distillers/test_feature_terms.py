"""The feature terms (hint, pkd, cwd) of TwoStageDistiller: alone or with
the paper's terms, on the same hint levels and adapters, over the teacher
map's un-padded positions; and their build-time checks."""
import copy

import pytest
import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

import mmkd  # noqa: F401
from mmkd.models.distillers.distill_terms import image_mask
from mmkd.models.losses import CWDLoss, PKDLoss
from mmkd.registry import MODELS
from mmkd.testing import ROOT
from mmkd.utils.errors import ConfigError

KD = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
TEACHER = Config.fromfile(f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
PAPER = dict(KD['distill_losses'])  # the five terms of chen2017.py
PKD = dict(type='PKDLoss', loss_weight=6.0)
CWD = dict(type='CWDLoss', tau=2.0, loss_weight=10.0)


def build(distill_losses, **kwargs):
    cfg = copy.deepcopy(KD)
    cfg.teacher, cfg.teacher_ckpt = copy.deepcopy(TEACHER), None
    cfg.random_teacher = True  # the terms' data flow, not the teacher
    cfg.distill_losses = distill_losses
    for key, value in kwargs.items():
        cfg[key] = value
    torch.manual_seed(0)
    return MODELS.build(cfg)


def padded_batch(model):
    """Two images, 64 x 64 and 40 x 48 (H x W): the second is padded to
    the first's size, so its teacher map has padding."""
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 64, 64), (3, 40, 48)],
        num_items=[3, 2],
        num_classes=6,
        with_mask=False)
    data = model.data_preprocessor(packed, True)
    return data['inputs'], data['data_samples']


@pytest.mark.parametrize(
    'terms', [
        dict(pkd=PKD),
        dict(cwd=CWD),
        dict(hint=PAPER['hint'], pkd=PKD, cwd=CWD),
        dict(PAPER, pkd=PKD),
    ],
    ids=['pkd', 'cwd', 'hint+pkd+cwd', 'chen2017+pkd'])
def test_terms_are_losses_of_the_adapted_map_over_the_image(terms):
    """Each term is its loss on (adapter(student level), teacher level)
    with the padding mask; the mask changes the value (image 1 is padded),
    so a distiller that dropped it would fail here."""
    hint_levels = [(0, 0), (1, 1)]
    model = build(
        terms,
        hint_levels=hint_levels,
        adapters=dict(type='HintAdapter', in_channels=16, out_channels=32))
    inputs, samples = padded_batch(model)
    losses = model.loss(inputs, samples)
    features = {'hint', 'pkd', 'cwd'} & set(terms)
    assert {k
            for k in losses if k.startswith('distill.')
            } == {f'distill.loss_{name}'
                  for name in terms}
    s_feats = model.student.extract_feat(inputs)
    t_feats = model.teacher_input.extract_feat(model.teacher, inputs, samples)
    for level, (s_idx, t_idx) in enumerate(hint_levels):
        adapted = model.adapters[level](s_feats[s_idx])
        teacher = t_feats[t_idx]
        mask = image_mask(teacher, samples)
        assert 0 < mask[1].mean() < 1  # the second image is padded
        for name in features:
            loss_fn = model.distill_losses[name]
            got = losses[f'distill.loss_{name}'][level]
            want = loss_fn(adapted, teacher, weight=mask)
            torch.testing.assert_close(got, want)
            if name != 'hint':  # the hint's mask is tested with it
                assert abs(got - loss_fn(adapted, teacher)) > 1e-4 * got
    if 'pkd' in terms:
        assert type(model.distill_losses['pkd']) is PKDLoss
    if 'cwd' in terms:
        assert model.distill_losses['cwd'].tau == 2.0


def test_student_and_adapters_get_gradients_teacher_does_not():
    model = build(dict(pkd=PKD, cwd=CWD))
    losses = model.loss(*padded_batch(model))
    total, _ = model.parse_losses(losses)
    total.backward()
    params = dict(model.named_parameters())
    for name in ('adapters.0.conv.weight', 'student.backbone.conv1.weight'):
        assert params[name].grad.abs().sum() > 0, name
    assert all(p.grad is None for p in model.teacher.parameters())
    # the RoI and RPN terms are off: the teacher's heads are not run
    assert set(model.distill_losses) == {'pkd', 'cwd'}
    assert model.teacher_classes is None


def test_adapters_are_built_for_any_feature_term():
    assert build(dict(cwd=CWD)).adapters is not None
    model = build(dict(rcn_kd=PAPER['rcn_kd']))
    assert model.adapters is None


def test_warmup_ramps_the_feature_terms():
    """The ramp is (iteration + 1) / N, the iteration read from the current
    MessageHub (a runner's; set here, since an earlier run in this process
    leaves its last iteration there)."""
    from mmengine.logging import MessageHub
    previous = MessageHub.get_current_instance().instance_name
    hub = MessageHub.get_instance('test_warmup_ramps_the_feature_terms')
    full = build(dict(pkd=PKD), distill_warmup_iters=0)
    ramped = build(dict(pkd=PKD), distill_warmup_iters=4)
    batch = padded_batch(full)
    try:
        for iteration, share in ((0, 1 / 4), (1, 2 / 4), (3, 1.0), (9, 1.0)):
            hub.update_info('iter', iteration)
            values = [
                model.loss(*batch)['distill.loss_pkd'][0]
                for model in (full, ramped)
            ]
            torch.testing.assert_close(values[1], values[0] * share)
    finally:
        MessageHub.get_instance(previous)  # current again


@pytest.mark.parametrize('name', ['pkd', 'cwd'])
def test_channel_and_level_mismatches_are_one_line_at_build(name):
    terms = {name: dict(pkd=PKD, cwd=CWD)[name]}
    with pytest.raises(ConfigError) as info:
        build(terms, adapters=None)
    message = str(info.value)
    assert '\n' not in message
    assert message.startswith(
        'TwoStageDistiller: hint level (student 0, teacher 0): the (adapted) '
        'student feature has 16 channels, the teacher feature 32; configure '
        "adapters=[dict(type='HintAdapter', in_channels=16, "
        'out_channels=32)]')
    with pytest.raises(
            ConfigError,
            match='hint level 7 of the teacher does '
            'not exist; its extract_feat gives 4 levels'):
        build(terms, hint_levels=[(0, 7)])


def test_a_loss_that_cannot_compare_maps_is_refused_at_build():
    with pytest.raises(ConfigError) as info:
        build(dict(cwd=dict(type='TeacherBoundedRegLoss')))
    message = str(info.value)
    assert '\n' not in message
    assert message.startswith(
        'TwoStageDistiller: distill_losses.cwd (TeacherBoundedRegLoss) '
        'cannot compare hint level (student 0, teacher 0): student map '
        '(1, 32, 32, 32), teacher map (1, 32, 32, 32): TypeError: ')
    assert message.endswith("a feature term takes (student_map, "
                            "teacher_map, weight=mask), e.g. type='PKDLoss'")


def test_the_cwd_term_is_the_papers_kl_on_a_real_level():
    """The distiller's CWD value recomputed from the maps without the loss
    module: per image and channel, tau^2 KL over the image's positions."""
    model = build(dict(cwd=CWD))
    inputs, samples = padded_batch(model)
    got = model.loss(inputs, samples)['distill.loss_cwd'][0]
    s = model.adapters[0](model.student.extract_feat(inputs)[0]).detach()
    t = model.teacher_input.extract_feat(model.teacher, inputs, samples)[0]
    mask = image_mask(t, samples)
    total = 0.
    for n in range(2):
        rows, cols = (int(x) for x in mask[n, 0].nonzero().max(0)[0] + 1)
        s_n = s[n, :, :rows, :cols].flatten(1) / 2.0
        t_n = t[n, :, :rows, :cols].flatten(1) / 2.0
        p_t = t_n.softmax(1)
        kl = (p_t * (p_t.log() - s_n.log_softmax(1))).sum(1)
        total = total + 4.0 * kl.sum()
    torch.testing.assert_close(got, 10.0 * total / (2 * s.size(1)))
    assert isinstance(model.distill_losses['cwd'], CWDLoss)
