"""A NaN/Inf in any distillation term is caught before it reaches the
weights, and reported with the term's name and the iteration.

In process: ``model.train_step`` with one term poisoned. Through
``tools/train.py`` (its ``main()``, in this process):
``mmkd/testing/faults.py``'s ``NaNHintLoss`` replaces the hint loss and is
NaN at chosen iterations.
"""
import copy
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from torch import nn

import mmkd  # noqa: F401
import mmkd.testing.faults  # noqa: F401  (registers NaNHintLoss)
from mmkd.registry import MODELS
from mmkd.testing import ROOT, data_options, demo_batch, load_tool

init_default_scope('mmkd')
KD_CONFIG = f'{ROOT}/tests/configs/tiny_kd.py'
KD = Config.fromfile(KD_CONFIG).model
train_tool = load_tool('train')
# the terms of tiny_kd.py (the paper's five)
TERMS = {name: f'distill.loss_{name}' for name in KD['distill_losses']}

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
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='teacher_ckpt is None'):
        return MODELS.build(copy.deepcopy(KD))


def _step(model, term, value, nonfinite='stop', it=6, optim=None):
    """One ``train_step`` at (0-based) iteration ``it`` with ``term``'s
    output multiplied by ``value`` (plain SGD unless ``optim`` is given)."""
    model.nonfinite = nonfinite
    if term is not None:
        model.distill_losses[term] = _Poisoned(model.distill_losses[term],
                                               value)
    MessageHub.get_current_instance().update_info('iter', it)
    data = demo_batch(0)
    optim = optim or OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    return model.train_step(data, optim)


def _params(model):
    return {k: v.detach().clone() for k, v in model.named_parameters()}


@pytest.mark.parametrize('term', sorted(TERMS))
def test_stop_names_the_term_and_the_iteration(model, term):
    # The log counts iterations from 1: runner.iter 6 is "iteration 7".
    with pytest.raises(
            FloatingPointError, match=rf"\['{TERMS[term]}'\] at iteration 7"):
        _step(model, term, float('nan'))


def test_stop_catches_inf(model):
    with pytest.raises(
            FloatingPointError,
            match=r"\['distill.loss_rcn_kd'\] at iteration 3"):
        _step(model, 'rcn_kd', float('inf'), it=2)


def test_skip_warns_and_leaves_the_weights_alone(model, warnings_log):
    before = _params(model)
    log_vars = _step(model, 'hint', float('nan'), nonfinite='skip')
    assert log_vars['nonfinite_skipped'] == 1.0
    [message] = [m for m in warnings_log if 'non-finite' in m]
    assert "['distill.loss_hint'] at iteration 7" in message
    assert 'skipped' in message
    after = _params(model)
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    # The same step with a finite loss does move the weights.
    model.distill_losses['hint'] = model.distill_losses['hint'].loss
    _step(model, None, 1.0, nonfinite='skip')
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


# --------------------------------------------------------- tools/train.py
def _train(tmp_path,
           tiny_data,
           tiny_teacher,
           nan_iters,
           nonfinite,
           epochs,
           extra=()):
    """tools/train.py's main() on tiny_kd.py with NaNHintLoss."""
    train_tool.main([
        KD_CONFIG,
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        *data_options(tiny_data),
        f'model.teacher_ckpt={tiny_teacher}',
        'model.distill_losses.hint.type=NaNHintLoss',
        f'model.distill_losses.hint.nan_iters={nan_iters}',
        f'model.nonfinite={nonfinite}',
        f'train_cfg.max_epochs={epochs}',
        'train_cfg.val_interval=100',
        *extra,
    ])


def _scalars(work_dir):
    [path] = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f if '"loss"' in line]


def test_train_stops_on_nan(tiny_data, tiny_teacher, tmp_path):
    # runner.iter 1 is the second iteration: "Epoch(train) [1][2/2]" in the
    # log and "iter": 2 in scalars.json.
    with pytest.raises(
            FloatingPointError,
            match=r"\['distill.loss_hint'\] at iteration 2"):
        _train(tmp_path, tiny_data, tiny_teacher, '[1]', 'stop', epochs=1)
    assert [x['iter'] for x in _scalars(tmp_path)] == [1]
    assert not glob.glob(str(tmp_path / '*.pth'))


def test_train_skips_nan_batches(tiny_data, tiny_teacher, tmp_path):
    """Epoch 2 (runner.iter 2 and 3, iterations 3 and 4) is all NaN and
    skipped: with SGD momentum 0.9, weight decay and an iteration-based
    learning-rate schedule, its checkpoint equals epoch 1's in weights, BN
    statistics, momentum buffers, learning rate and schedule position (two
    more steps of the schedule would have restored the full rate)."""
    _train(
        tmp_path,
        tiny_data,
        tiny_teacher,
        '[2,3]',
        'skip',
        epochs=2,
        extra=[
            'optim_wrapper.optimizer.momentum=0.9',
            'optim_wrapper.optimizer.weight_decay=0.0005',
            # half the learning rate until the 4th step (tiny_kd.py's
            # ConstantLR by iteration, total_iters = end - 1 = 4)
            'param_scheduler.0.factor=0.5',
            'param_scheduler.0.end=5',
        ])
    [log] = glob.glob(str(tmp_path / '*' / '*.log'))
    with open(log) as f:
        warnings = [line for line in f if 'WARNING' in line]
    for it in (3, 4):
        assert any(
            f"['distill.loss_hint'] at iteration {it}: batch skipped" in line
            for line in warnings), it
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
