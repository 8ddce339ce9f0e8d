"""TwoStageDistiller: terms, gradients, RoI alignment and teacher hygiene."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.registry import MODELS
from mmkd.testing import ROOT, assert_same_detections
from mmkd.testing import distiller_batch as batch
from mmkd.utils.errors import ConfigError

init_default_scope('mmkd')  # as the Runner does; plain detectors need it
KD = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
STUDENT = KD['student']
TEACHER = Config.fromfile(f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
# the paper's five terms, those of tiny_kd.py (test_feature_terms.py has
# the later methods' feature terms)
TERMS = {name: f'distill.loss_{name}' for name in KD['distill_losses']}
ALL_KEYS = {
    'student.loss_rpn_cls', 'student.loss_rpn_bbox', 'student.loss_cls',
    'student.loss_bbox', 'student.acc', *TERMS.values()
}


def distiller_cfg(**kwargs):
    """tiny_kd.py's distiller (the paper's terms and weights) with the tiny
    teacher as a dict, random unless a ``teacher_ckpt`` is given."""
    cfg = copy.deepcopy(KD)
    # item by item: ConfigDict.update would merge nested dicts
    overrides = dict(
        teacher=copy.deepcopy(TEACHER),
        random_teacher='teacher_ckpt' not in kwargs)
    overrides.update(kwargs)
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


def build(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(distiller_cfg(**kwargs))


def test_one_iteration_gives_every_term():
    model = build()
    losses = model.loss(*batch(model))
    assert set(losses) == ALL_KEYS
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total)
    for key in ALL_KEYS - {'student.acc'}:
        assert torch.isfinite(torch.as_tensor(log_vars[key])), key
    assert log_vars['distill.loss_hint'] > 0


def test_student_gets_gradients_teacher_does_not():
    model = build()
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    total, _ = model.parse_losses(model.loss(*batch(model)))
    total.backward()
    for name in ('student.backbone.conv1.weight',
                 'student.rpn_head.rpn_cls.weight',
                 'student.roi_head.bbox_head.fc_cls.weight',
                 'adapters.0.conv.weight'):
        param = dict(model.named_parameters())[name]
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in model.teacher.parameters())
    optim.step()
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key


@pytest.mark.parametrize('term', sorted(TERMS))
def test_disabling_a_term_removes_exactly_its_key(term):
    model = build(distill_losses={**KD['distill_losses'], term: None})
    losses = model.loss(*batch(model))
    assert set(losses) == ALL_KEYS - {TERMS[term]}


def test_teacher_runs_on_the_students_rois():
    """Teacher = student: the bounded terms and the hint vanish and the RoI
    KD term is the (weighted) self-entropy of the student's own outputs --
    which only holds if the teacher saw the very same RoIs and anchors."""
    model = build(
        teacher=copy.deepcopy(STUDENT), adapters=None, hard_weight=0.25)
    model.teacher.load_state_dict(model.student.state_dict())
    model.eval()  # same BN statistics on both sides
    recorded = {}
    forward = model.student.roi_head._bbox_forward

    def record(x, rois):
        recorded.update(forward(x, rois))
        return recorded

    model.student.roi_head._bbox_forward = record
    losses = model.loss(*batch(model))
    # e_s = e_t per sample and margin 0: e_s + 0 > e_t never holds.
    assert losses['distill.loss_rpn_reg'] == 0
    assert losses['distill.loss_rcn_reg'] == 0
    assert losses['distill.loss_hint'][0] == 0
    # RoI KD: (1 - mu) * mean_rois(-sum_c w_c p_c log p_c), w_bg = 1.5.
    logp = torch.log_softmax(recorded['cls_score'], dim=1)
    weights = torch.ones(logp.size(1))
    weights[-1] = 1.5
    entropy = -(weights * logp.exp() * logp).sum(dim=1).mean()
    expected = 0.75 * entropy
    assert torch.allclose(losses['distill.loss_rcn_kd'], expected, rtol=1e-5)


# ------------------------------------------------------------ teacher hygiene
def test_teacher_is_frozen_and_always_eval():
    model = build()
    assert all(not p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert model.student.training and not model.teacher.training
    assert all(not m.training for m in model.teacher.modules())


def test_teacher_loaded_on_cpu(tmp_path):
    teacher = MODELS.build(copy.deepcopy(TEACHER))
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, path)
    model = MODELS.build(distiller_cfg(teacher_ckpt=path))
    assert {p.device.type for p in model.teacher.parameters()} == {'cpu'}
    for key, value in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value), key


def test_teacher_not_reinitialised_by_init_weights():
    model = build()
    before = copy.deepcopy(model.teacher.state_dict())
    model.init_weights()
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_init_weights_runs_the_adapters_own_init():
    """model.init_weights() of a built distiller applies HintAdapter's
    Kaiming fan-in init (gain 1) and zero bias; a plain nn.ModuleList hid
    the adapters from MMEngine's init_weights."""
    model = build()
    conv = model.adapters[0].conv
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.fill_(1.0)
    model.init_weights()
    # 32 x 16 weights, fan-in 16: std 1 / sqrt(16) = 0.25
    assert not torch.equal(conv.weight, torch.ones_like(conv.weight))
    assert abs(conv.weight.std().item() - 0.25) < 0.05
    assert torch.equal(conv.bias, torch.zeros_like(conv.bias))


@pytest.mark.parametrize('terms', [
    dict(hint=None),
    dict(hint=None, rpn_reg=None, rcn_reg=None),
])
def test_adapters_exist_only_with_the_hint(terms):
    """With the hint off there are no adapter parameters (no gradient-less
    weights in the optimizer, the checkpoints or DDP), and every parameter
    left gets a gradient from one step."""
    model = build(distill_losses={**KD['distill_losses'], **terms})
    assert model.adapters is None
    assert not [k for k in model.state_dict() if k.startswith('adapters')]
    losses = model.loss(*batch(model))
    total, _ = model.parse_losses(losses)
    total.backward()
    no_grad = [
        name for name, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not no_grad, no_grad


def test_distill_losses_list_what_trains():
    """A term is on because the config names it: nothing is filled in."""
    model = build(
        distill_losses=dict(hint=dict(type='HintAdaptLoss', loss_weight=0.5)))
    assert list(model.distill_losses) == ['hint']
    keys = {k for k in model.loss(*batch(model)) if k.startswith('distill.')}
    assert keys == {'distill.loss_hint'}
    with pytest.raises(ValueError, match='distill_losses is required'):
        MODELS.build(distiller_cfg(distill_losses=None))
    with pytest.raises(ValueError, match='needs a `type`'):
        MODELS.build(
            distiller_cfg(distill_losses=dict(hint=dict(loss_weight=4.0))))


def test_teacher_not_in_optimizer_params_or_checkpoint():
    model = build()
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert not teacher_ids & {id(p) for p in model.parameters()}
    keys = model.state_dict().keys()
    assert keys and all(
        k.startswith(('student.', 'adapters.', 'data_preprocessor.'))
        for k in keys)


def test_teacher_not_wrapped_for_gradient_sync(tmp_path):
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import OptimWrapper
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        model = build()
        ddp = MMDistributedDataParallel(model, device_ids=None)
        synced = {id(p) for p in ddp.module.parameters() if p.requires_grad}
        assert not synced & {id(p) for p in model.teacher.parameters()}
        # A training step through the wrapper still works.
        optim_wrapper = OptimWrapper(
            torch.optim.SGD(ddp.parameters(), lr=0.01))
        inputs, samples = batch(model)
        log_vars = ddp.train_step(
            dict(inputs=list(inputs), data_samples=samples), optim_wrapper)
        assert 'distill.loss_rcn_kd' in log_vars
    finally:
        dist.destroy_process_group()


# ------------------------------------------------------- build-time checks
def test_num_classes_mismatch_is_reported():
    teacher = copy.deepcopy(TEACHER)
    teacher.roi_head.bbox_head.num_classes = 7
    with pytest.raises(ValueError, match='num_classes.*student 6, teacher 7'):
        build(teacher=teacher)


def test_anchor_mismatch_is_reported():
    teacher = copy.deepcopy(TEACHER)
    teacher.rpn_head.anchor_generator.scales = [8]
    with pytest.raises(ValueError, match='same anchors'):
        build(teacher=teacher)
    # Without RPN distillation the same pair is fine.
    build(
        teacher=teacher,
        distill_losses=dict(KD['distill_losses'], rpn_kd=None, rpn_reg=None))


def test_hint_channels_without_adapter_are_reported():
    with pytest.raises(ValueError, match="16 channels.*32.*HintAdapter"):
        build(adapters=None)


def test_a_random_teacher_must_be_asked_for(warnings_log):
    """Without a checkpoint the teacher would be random: refused unless
    random_teacher=True says so (and then the run's log says so)."""
    for ckpt in (None, ''):
        with pytest.raises(
                ConfigError,
                match=rf"model.teacher_ckpt={ckpt!r}: no teacher checkpoint, "
                'so the teacher would keep its random initialisation'):
            MODELS.build(distiller_cfg(teacher_ckpt=ckpt))
    with pytest.raises(ConfigError, match='must be True or False'):
        MODELS.build(distiller_cfg(random_teacher='yes'))
    assert not warnings_log
    build()  # random_teacher=True
    [message] = warnings_log
    assert message.startswith('TwoStageDistiller: random_teacher=True, the '
                              'teacher keeps its random initialisation')
    # eval_only (tools/test.py) builds no teacher: nothing to refuse
    MODELS.build(dict(copy.deepcopy(KD), eval_only=True))


def test_missing_teacher_checkpoint_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        MODELS.build(distiller_cfg(teacher_ckpt=str(tmp_path / 'nope.pth')))


def test_teacher_checkpoint_key_mismatch_is_reported(tmp_path):
    student = MODELS.build(copy.deepcopy(STUDENT))
    path = str(tmp_path / 'wrong.pth')
    state = student.state_dict()
    state['extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': state}, path)
    with pytest.raises(RuntimeError) as info:
        MODELS.build(distiller_cfg(teacher_ckpt=path))
    message = str(info.value)
    assert 'not in the teacher 1: extra.weight' in message
    assert 'shape mismatches' in message


def test_unknown_distill_loss_key_is_reported():
    with pytest.raises(ValueError, match=r"\['rpn_kdd'\]"):
        MODELS.build(distiller_cfg(distill_losses=dict(rpn_kdd=None)))


def test_unknown_loss_type_is_reported():
    with pytest.raises(ValueError, match='rcn_kd.*NoSuchLoss'):
        MODELS.build(
            distiller_cfg(distill_losses=dict(rcn_kd=dict(type='NoSuchLoss'))))


# ------------------------------------------------------ inference, export
def test_eval_only_builds_no_teacher():
    model = MODELS.build(distiller_cfg(teacher=None, eval_only=True))
    assert model.teacher is None
    with pytest.raises(RuntimeError, match='eval_only'):
        model.loss(*batch(model))


def test_extracted_student_has_its_weights_and_detections(tmp_path):
    from mmdet.apis import init_detector

    from mmkd.engine.checkpoint import student_checkpoint
    from mmkd.models.distillers.export import student_config
    model = build().eval()
    ckpt = dict(
        state_dict=model.state_dict(),
        meta=dict(dataset_meta=dict(classes=tuple('abcdef'))))
    exported = student_checkpoint(ckpt)
    assert not any(
        k.startswith(('adapters', 'teacher', 'student'))
        for k in exported['state_dict'])
    path = str(tmp_path / 'student.pth')
    torch.save(exported, path)
    cfg = student_config(Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py'))
    detector = init_detector(cfg, path, device='cpu')
    inputs, samples = batch(model)
    with torch.no_grad():
        ours = model.predict(inputs, copy.deepcopy(samples))
        theirs = detector.predict(inputs, copy.deepcopy(samples))
    for key, value in detector.state_dict().items():  # bit-identical
        assert torch.equal(value, model.student.state_dict()[key]), key
    for a, b in zip(ours, theirs):
        assert len(a.pred_instances) > 0
        assert_same_detections(a.pred_instances, b.pred_instances)


@pytest.mark.parametrize('mu', [-0.1, 1.5, float('nan'), '0.5'])
def test_mu_outside_zero_one_is_refused(mu):
    with pytest.raises(
            ValueError,
            match=r'hard_weight=.* must be a number in '
            r'\[0, 1\] \(mu of the paper'):
        MODELS.build(distiller_cfg(hard_weight=mu))
