"""Fault injection for the reliability tests (never imported by mmkd).

``tests/configs/tiny_kd_faults.py`` imports this module through
``custom_imports``, so it runs inside the training process that a test
starts. Nothing happens unless the test sets one of these environment
variables in that child process:

- ``MMKD_TEST_PAUSE_AT_ITER=N``: before iteration ``N`` (0-based, i.e.
  ``runner.iter``) the process writes ``MMKD_TEST_MARKER`` and sleeps until
  the test kills it.
- ``MMKD_TEST_SLOW_SAVE=NAME``: the checkpoint write of ``NAME`` (e.g.
  ``epoch_2.pth``) stops in ``os.fsync`` of its temporary file, after
  writing ``MMKD_TEST_MARKER``, until the test kills the process.
- ``MMKD_TEST_FAIL_RANK=RANK:N``: rank ``RANK`` raises before iteration
  ``N``; with ``RANK:N:hang`` it hangs there instead.
- ``MMKD_TEST_RECORD=DIR``: every rank writes the loss of its first
  iteration and its parameters after it to ``DIR/rank{RANK}.pth``.

``NaNHintLoss`` is a ``HintAdaptLoss`` that returns NaN (or Inf) at the
iterations listed in ``nan_iters``, for ``distill_losses.hint.type``.
"""
import os
import os.path as osp
import time

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import MessageHub

from mmkd.models.losses import HintAdaptLoss
from mmkd.registry import HOOKS, MODELS


def _park(reason: str) -> None:
    """Tell the test where we are, then wait to be killed."""
    marker = os.environ['MMKD_TEST_MARKER']
    with open(f'{marker}.part', 'w') as f:
        f.write(reason)
    os.replace(f'{marker}.part', marker)  # the test never reads half of it
    while True:
        time.sleep(0.1)


_real_fsync = os.fsync


def _slow_fsync(fd: int) -> None:
    # atomic_write fsyncs '.NAME.<pid>.<random>.tmp', then renames it NAME.
    name = osp.basename(os.readlink(f'/proc/self/fd/{fd}'))
    if name.startswith(f".{os.environ['MMKD_TEST_SLOW_SAVE']}."):
        _park(name)
    _real_fsync(fd)


if os.environ.get('MMKD_TEST_SLOW_SAVE'):
    os.fsync = _slow_fsync


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    """Pauses, fails or records a training run as the environment says."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == int(os.environ.get('MMKD_TEST_PAUSE_AT_ITER', -1)):
            _park(f'iteration {runner.iter}')
        rank, it, *hang = os.environ.get('MMKD_TEST_FAIL_RANK',
                                         '-1:-1').split(':')
        if [get_rank(), runner.iter] != [int(rank), int(it)]:
            return
        if hang:
            while True:  # a rank that hangs instead of failing
                time.sleep(0.1)
        raise RuntimeError(f'injected failure on rank {rank} at iteration '
                           f'{it}')

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        folder = os.environ.get('MMKD_TEST_RECORD')
        if not folder or runner.iter != 0:  # the first iteration
            return
        model = getattr(runner.model, 'module', runner.model)
        torch.save(
            dict(
                loss=float(outputs['loss']),
                params={
                    k: v.detach().clone()
                    for k, v in model.named_parameters()
                }), osp.join(folder, f'rank{get_rank()}.pth'))


@MODELS.register_module()
class NaNHintLoss(HintAdaptLoss):
    """``HintAdaptLoss`` that is ``value`` at the iterations ``nan_iters``
    (0-based ``runner.iter``, read from the message hub)."""

    def __init__(self, nan_iters=(0, ), value=float('nan'), **kwargs):
        super().__init__(**kwargs)
        self.nan_iters = set(nan_iters)
        self.value = float(value)

    def forward(self, *args, **kwargs):
        loss = super().forward(*args, **kwargs)
        step = MessageHub.get_current_instance().get_info('iter')
        return loss * self.value if step in self.nan_iters else loss
