"""A NaN/Inf loss term, in a distiller or in a detector trained alone, is
caught before it reaches the weights (``mmkd/engine/nonfinite.py``,
``NonFiniteLossHook``).

In process: ``model.train_step`` through a ``NonFiniteGuard`` with one term
poisoned. Through ``tools/train.py`` (its ``main()``, in this process): the
distiller with ``mmkd/testing/faults.py``'s ``NaNHintLoss`` (NaN at chosen
iterations), and the tiny detector with a learning rate that diverges.
"""
import copy
import glob
import json
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from torch import nn

import mmkd  # noqa: F401
import mmkd.testing.faults  # noqa: F401  (registers NaNHintLoss)
from mmkd.engine.nonfinite import NonFiniteGuard
from mmkd.models.distillers import TERM_NAMES
from mmkd.registry import MODELS
from mmkd.testing import (MASK_KD, ROOT, TINY_CONFIG, data_options, demo_batch,
                          load_tool)
from mmkd.utils.errors import ConfigError, NonFiniteLossError

init_default_scope('mmkd')
KD_CONFIG = f'{ROOT}/tests/configs/tiny_kd.py'
KD = Config.fromfile(KD_CONFIG).model
KD.random_teacher = True  # the mechanics, not a trained teacher
# Every term the distiller has: the feature terms of the later methods on
# the same hint level, and mask_kd on the tiny Mask R-CNNs.
KD_ALL = copy.deepcopy(KD)
KD_ALL.distill_losses.update(
    pkd=dict(type='PKDLoss', loss_weight=6.0),
    cwd=dict(type='CWDLoss', tau=1.0, loss_weight=10.0))
KD_MASK = copy.deepcopy(KD)
KD_MASK.update(
    student=Config.fromfile(f'{ROOT}/tests/configs/tiny_mask_rcnn.py').model,
    teacher='tests/configs/tiny_mask_rcnn_teacher.py')
KD_MASK.distill_losses.mask_kd = MASK_KD
DETECTOR = Config.fromfile(TINY_CONFIG).model
TERMS = {name: f'distill.loss_{name}' for name in TERM_NAMES}
train_tool = load_tool('train')

# In-process runs: one torch thread (see conftest.one_thread).
pytestmark = pytest.mark.usefixtures('one_thread')


class _Poisoned(nn.Module):
    """A loss module whose output is multiplied by ``value``."""

    def __init__(self, loss: nn.Module, value: float) -> None:
        super().__init__()
        self.loss, self.value = loss, value

    def forward(self, *args, **kwargs):
        return self.loss(*args, **kwargs) * self.value


@pytest.fixture
def model():
    return _build(KD)


def _build(cfg):
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(cfg))


def _step(model, term, value, policy='stop', it=6, optim=None):
    """One guarded ``train_step`` at (0-based) iteration ``it`` with
    ``term``'s output multiplied by ``value`` (plain SGD unless ``optim``
    is given), on a batch with masks if ``model`` has a mask head."""
    guard = NonFiniteGuard(model, policy)
    guard.install()
    if term is not None:
        model.distill_losses[term] = _Poisoned(model.distill_losses[term],
                                               value)
    MessageHub.get_current_instance().update_info('iter', it)
    optim = optim or OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    guard.before_step()
    try:
        masks = 'mask_kd' in model.distill_losses
        return model.train_step(demo_batch(0, with_mask=masks), optim)
    finally:
        guard.remove()


def _params(model):
    return {k: v.detach().clone() for k, v in model.named_parameters()}


@pytest.mark.parametrize('term', sorted(TERMS))
def test_stop_names_the_term_and_the_iteration(term):
    model = _build(KD_MASK if term == 'mask_kd' else KD_ALL)
    # The log counts iterations from 1: runner.iter 6 is "iteration 7".
    with pytest.raises(
            NonFiniteLossError, match=rf"\['{TERMS[term]}'\] at iteration 7"):
        _step(model, term, float('nan'))


def test_stop_catches_inf(model):
    with pytest.raises(
            FloatingPointError,  # for library users
            match=r"\['distill.loss_rcn_kd'\] at iteration 3"):
        _step(model, 'rcn_kd', float('inf'), it=2)


def test_skip_warns_and_leaves_the_weights_alone(model, warnings_log):
    before = _params(model)
    log_vars = _step(model, 'hint', float('nan'), policy='skip')
    assert log_vars['nonfinite_skipped'] == 1.0
    [message] = [m for m in warnings_log if 'non-finite' in m]
    assert "['distill.loss_hint'] at iteration 7" in message
    assert 'skipped' in message
    after = _params(model)
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    # The same step with a finite loss does move the weights.
    model.distill_losses['hint'] = model.distill_losses['hint'].loss
    _step(model, None, 1.0, policy='skip')
    assert any(not torch.equal(v,
                               _params(model)[k]) for k, v in before.items())


def test_skip_leaves_momentum_weight_decay_and_buffers_alone(model):
    """With momentum and weight decay, a skipped batch still changes
    nothing: weights, momentum buffers, BN statistics (a zero gradient
    would still decay the weights and move them by the momentum)."""
    optim = OptimWrapper(
        torch.optim.SGD(
            model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2))
    _step(model, None, 1.0, optim=optim)  # momentum buffers exist now
    state = {k: v.clone() for k, v in model.state_dict().items()}
    optim_state = copy.deepcopy(optim.state_dict())
    log_vars = _step(model, 'rcn_kd', float('inf'), 'skip', optim=optim)
    assert log_vars['nonfinite_skipped'] == 1.0
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    for idx, saved in optim_state['state'].items():
        assert torch.equal(optim.state_dict()['state'][idx]['momentum_buffer'],
                           saved['momentum_buffer']), idx


def test_a_detector_trained_alone_is_guarded_the_same_way():
    """The guard is the model's, not the distiller's: MMDetection's
    FasterRCNN, its RoI box loss NaN."""
    torch.manual_seed(0)
    detector = MODELS.build(copy.deepcopy(DETECTOR))
    head = detector.roi_head.bbox_head
    head.loss_bbox = _Poisoned(head.loss_bbox, float('nan'))
    guard = NonFiniteGuard(detector, 'stop')
    guard.install()
    optim = OptimWrapper(torch.optim.SGD(detector.parameters(), lr=0.1))
    MessageHub.get_current_instance().update_info('iter', 4)
    with pytest.raises(
            NonFiniteLossError, match=r"\['loss_bbox'\] at iteration 5; "):
        detector.train_step(demo_batch(0), optim)
    guard.remove()  # the model's own parse_losses again: no check
    log_vars = detector.train_step(demo_batch(0), optim)
    assert not torch.isfinite(log_vars['loss_bbox'])


# --------------------------------------------------------- tools/train.py
def _train_kd(tmp_path, tiny_data, tiny_teacher, nan_iters, epochs, *extra):
    """tools/train.py's main() on tiny_kd.py with NaNHintLoss."""
    return [
        KD_CONFIG,
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        *data_options(tiny_data),
        f'model.teacher_ckpt={tiny_teacher}',
        'model.distill_losses.hint.type=NaNHintLoss',
        f'model.distill_losses.hint.nan_iters={nan_iters}',
        f'train_cfg.max_epochs={epochs}',
        'train_cfg.val_interval=100',
        *extra,
    ]


def _train_detector(tmp_path, tiny_data, *extra):
    """tools/train.py's main() on the tiny detector, 3 epochs of 2
    iterations, with a learning rate that diverges: iteration 2's loss is
    about 1e14 and a later one is not finite."""
    return [
        TINY_CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', *data_options(tiny_data),
        'optim_wrapper.optimizer.lr=1000', 'train_cfg.max_epochs=3',
        'train_cfg.val_interval=100', 'randomness.seed=0', *extra
    ]


def _error(argv) -> str:
    """The message train.py's main() exits with (status 1: Python prints
    a string exit code and exits with 1)."""
    with pytest.raises(SystemExit) as info:
        train_tool.main(argv)
    assert isinstance(info.value.code, str), info.value.code
    return info.value.code


def _scalars(work_dir):
    [path] = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f if '"loss"' in line]


def _log(work_dir):
    [path] = glob.glob(osp.join(work_dir, '*', '*.log'))
    with open(path) as f:
        return f.read()


def _checkpoints(work_dir):
    return sorted(osp.basename(p) for p in glob.glob(f'{work_dir}/*.pth'))


def test_train_stops_on_nan_with_one_error_line(tiny_data, tiny_teacher,
                                                tmp_path):
    # runner.iter 1 is the second iteration: "Epoch(train) [1][2/2]" in the
    # log and "iter": 2 in scalars.json.
    message = _error(_train_kd(tmp_path, tiny_data, tiny_teacher, '[1]', 1))
    assert message.startswith(
        "error: non-finite loss term(s) ['distill.loss_hint'] at iteration "
        '2; the run is stopped before this batch reached the weights')
    assert 'default_hooks.nonfinite.policy=skip' in message
    assert '\n' not in message
    assert message[len('error: '):] in _log(tmp_path)  # in the run's log
    assert [x['iter'] for x in _scalars(tmp_path)] == [1]
    assert not _checkpoints(tmp_path)


def test_train_skips_nan_batches(tiny_data, tiny_teacher, tmp_path):
    """Epoch 2 (runner.iter 2 and 3, iterations 3 and 4) is all NaN and
    skipped (max_skip_share=1 allows it): with SGD momentum 0.9, weight
    decay and an iteration-based learning-rate schedule, its checkpoint
    equals epoch 1's in weights, BN statistics, momentum buffers, learning
    rate and schedule position (two more steps of the schedule would have
    restored the full rate); each epoch ends with a summary."""
    train_tool.main(
        _train_kd(
            tmp_path,
            tiny_data,
            tiny_teacher,
            '[2,3]',
            2,
            'default_hooks.nonfinite.policy=skip',
            'default_hooks.nonfinite.max_skip_share=1',
            'optim_wrapper.optimizer.momentum=0.9',
            'optim_wrapper.optimizer.weight_decay=0.0005',
            # half the learning rate until the 4th step (tiny_kd.py's
            # ConstantLR by iteration, total_iters = end - 1 = 4)
            'param_scheduler.0.factor=0.5',
            'param_scheduler.0.end=5',
        ))
    log = _log(tmp_path)
    for it in (3, 4):
        assert re.search(
            rf"WARNING - non-finite loss term\(s\) \['distill.loss_hint'\] "
            rf'at iteration {it}: batch skipped', log), it
    assert 'non-finite loss guard: epoch 1: 0 of 2 batches skipped (0.0 %)' \
        in log
    assert ('WARNING - non-finite loss guard: epoch 2: 2 of 2 batches '
            'skipped (100.0 %) for non-finite terms distill.loss_hint (2)'
            in log)
    assert [x.get('nonfinite_skipped')
            for x in _scalars(tmp_path)] == [None, None, 1, 1]
    epoch1, epoch2 = (torch.load(tmp_path / f'epoch_{i}.pth') for i in (1, 2))
    assert len(epoch1['state_dict']) > 50
    for key, value in epoch1['state_dict'].items():
        assert torch.equal(value, epoch2['state_dict'][key]), key
    moments = epoch1['optimizer']['state']
    assert moments
    for idx, state in moments.items():
        assert torch.equal(
            state['momentum_buffer'],
            epoch2['optimizer']['state'][idx]['momentum_buffer']), idx
    [group1], [group2] = (
        e['optimizer']['param_groups'] for e in (epoch1, epoch2))
    assert group2['lr'] == group1['lr'] == 0.005  # 0.5 x lr 0.01
    [sched1], [sched2] = epoch1['param_schedulers'], epoch2['param_schedulers']
    assert sched1['last_step'] == sched2['last_step'] == 2


def _stopped_epoch(message: str) -> int:
    """The epoch (2 iterations each) of the iteration a message names."""
    it = int(re.search(r'at iteration (\d+)', message).group(1))
    return (it + 1) // 2


def test_a_diverging_detector_stops_with_one_line(tiny_data, tmp_path):
    """Without the guard this run trains `loss: nan` to its last epoch and
    writes every checkpoint. The config here has no guard of its own
    (default_hooks.nonfinite removed): train.py adds it."""
    cfg = Config.fromfile(TINY_CONFIG)
    del cfg.default_hooks['nonfinite']
    config = str(tmp_path / 'no_guard.py')
    cfg.dump(config)
    work = tmp_path / 'work'
    argv = _train_detector(work, tiny_data)
    message = _error([config, *argv[1:]])
    assert '\n' not in message
    assert re.match(
        r"error: non-finite loss term\(s\) \[('loss_\w+'(, )?)+\] at "
        r'iteration \d+; the run is stopped before this batch', message)
    assert 'loss_cls' in message
    # the checkpoints before it are written and intact, none after it
    epoch = _stopped_epoch(message)
    assert epoch >= 2
    assert _checkpoints(work) == [f'epoch_{i}.pth' for i in range(1, epoch)]
    state = torch.load(work / 'epoch_1.pth')['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())


def test_a_detector_skipping_too_many_batches_stops(tiny_data, tmp_path):
    """policy='skip': once the epoch's skipped share is above
    max_skip_share (0.1 of 2 batches: the first skip), the run stops
    before that epoch's checkpoint."""
    message = _error(
        _train_detector(tmp_path, tiny_data,
                        'default_hooks.nonfinite.policy=skip'))
    assert '\n' not in message
    assert re.match(
        r'error: non-finite loss guard: epoch (\d): 1 of [12] batches '
        r'skipped \((100|50).0 %\) for non-finite terms loss_\w+ \(1\).* '
        r'so far, more than default_hooks.nonfinite.max_skip_share=0.1 of '
        r'its 2 batches; the run is stopped at iteration \d+, before this '
        r"epoch's checkpoint", message), message
    epoch = _stopped_epoch(message)
    assert epoch == int(re.search(r'epoch (\d)', message).group(1))
    assert _checkpoints(tmp_path) == [
        f'epoch_{i}.pth' for i in range(1, epoch)
    ]
    assert 'batch skipped on every rank' in _log(tmp_path)


def test_train_py_gives_a_config_without_a_guard_the_default_one():
    """From any registry scope (an exported student's config is in
    MMDetection's)."""
    from mmdet.registry import HOOKS

    from mmkd.engine.hooks import NonFiniteLossHook
    from mmkd.engine.launch import check_nonfinite_hook
    cfg = Config(dict(default_scope='mmdet', default_hooks=dict()))
    check_nonfinite_hook(cfg)
    assert cfg.default_hooks.nonfinite == dict(
        type='mmkd.NonFiniteLossHook', policy='stop', max_skip_share=0.1)
    init_default_scope('mmdet')
    try:
        hook = HOOKS.build(cfg.default_hooks.nonfinite)
    finally:
        init_default_scope('mmkd')
    assert isinstance(hook, NonFiniteLossHook) and hook.policy == 'stop'


@pytest.mark.parametrize('left_current', ['mmdet', 'mmkd'])
def test_the_guard_is_checked_in_the_configs_scope(left_current):
    """An earlier run in the process (a sweep, a notebook, mmdet's
    init_detector) leaves its registry scope current: the guard of the next
    config is still checked in that config's own scope."""
    from mmkd.engine.launch import check_nonfinite_hook

    def check(scope, hook_type):
        check_nonfinite_hook(
            Config(
                dict(
                    default_scope=scope,
                    default_hooks=dict(nonfinite=dict(type=hook_type)))))

    init_default_scope(left_current)
    try:
        check('mmkd', 'NonFiniteLossHook')
        # an exported student's config names the guard with its scope
        check('mmdet', 'mmkd.NonFiniteLossHook')
        # and a config in MMDetection's scope cannot use the bare name
        with pytest.raises(ConfigError, match='not in the mmdet::hook'):
            check('mmdet', 'NonFiniteLossHook')
    finally:
        init_default_scope('mmkd')
