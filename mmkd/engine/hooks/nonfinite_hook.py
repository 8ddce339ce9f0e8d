"""The non-finite loss guard of every training run."""
import logging
from collections import Counter
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop

from mmkd.engine.nonfinite import FIX, NonFiniteGuard, check_policy
from mmkd.registry import HOOKS
from mmkd.utils.errors import NonFiniteLossError


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop the run, or skip the batch, when a loss term is NaN or Inf.

    Configured once for every run, detector or distiller, in
    ``configs/_base_/default_runtime.py``::

        default_hooks = dict(
            nonfinite=dict(type='NonFiniteLossHook', policy='stop',
                           max_skip_share=0.1), ...)

    (``tools/train.py`` adds it with these defaults to a config that lacks
    it). It routes the model's ``parse_losses`` through a
    ``NonFiniteGuard`` (``mmkd/engine/nonfinite.py``) for the training
    loop, so the check runs before any backward pass on every rank.

    - ``policy='stop'``: the first non-finite term ends the run with a
      ``NonFiniteLossError`` (``tools/train.py`` prints one ``error:`` line)
      naming the iteration and the terms; the checkpoints written so far
      are intact, the weights never saw the batch.
    - ``policy='skip'``: the batch is skipped (weights, optimizer state, BN
      statistics and schedules as if it never happened) and logged; each
      epoch ends with a summary (batches skipped, their share, the terms).
      As soon as more than ``max_skip_share`` of an epoch's batches are
      skipped the run stops with a ``NonFiniteLossError``, before that
      epoch's checkpoint is written: a run that skips most of its data
      trains on what is left and its numbers would mislead.

    Args:
        policy (str): ``'stop'`` (default) or ``'skip'``.
        max_skip_share (float): with ``'skip'``, the largest share of an
            epoch's batches (iteration-based loops: of each run of
            ``len(train_dataloader)`` iterations) that may be skipped, in
            [0, 1]. Defaults to 0.1.
    """

    priority = 'NORMAL'  # after_train_epoch before CheckpointHook's

    def __init__(self,
                 policy: str = 'stop',
                 max_skip_share: float = 0.1) -> None:
        check_policy(policy, max_skip_share)
        self.policy, self.max_skip_share = policy, max_skip_share
        self.guard: Optional[NonFiniteGuard] = None
        self._reset()

    def _reset(self) -> None:
        self.seen, self.skipped, self.terms = 0, 0, Counter()

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.guard = NonFiniteGuard(model, self.policy)
        self.guard.install()
        self._reset()

    def after_train(self, runner) -> None:
        if self.guard is not None:
            self.guard.remove()

    def before_train_epoch(self, runner) -> None:
        self._reset()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        if self.guard is not None:
            self.guard.before_step()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if self.policy != 'skip':
            return
        self.seen += 1
        if outputs and outputs.get('nonfinite_skipped'):
            self.skipped += 1
            self.terms.update(self.guard.last_terms or ['on another rank'])
        window = _epoch_length(runner)
        if self.skipped > self.max_skip_share * window:
            # The epoch's share is above the limit whatever follows.
            message = (
                f'non-finite loss guard: epoch {runner.epoch + 1}: '
                f'{self._counts()} so far, more than '
                f'default_hooks.nonfinite.max_skip_share='
                f'{self.max_skip_share:g} of its {window} batches; the run '
                f'is stopped at iteration {runner.iter + 1}, before this '
                'epoch\'s checkpoint (the earlier ones are intact). '
                f'{FIX[0].upper()}{FIX[1:]}, or raise max_skip_share if '
                'this data is expected to skip')
            print_log(message, logger='current', level=logging.ERROR)
            raise NonFiniteLossError(message)
        if self.seen >= window and isinstance(runner.train_loop,
                                              IterBasedTrainLoop):
            self._log_summary(runner)  # a run of one epoch's length

    def after_train_epoch(self, runner) -> None:
        if self.policy == 'skip' and self.seen:
            self._log_summary(runner)

    def _counts(self) -> str:
        terms = ', '.join(f'{t} ({n})' for t, n in self.terms.most_common())
        return (f'{self.skipped} of {self.seen} batches skipped '
                f'({100 * self.skipped / max(1, self.seen):.1f} %)' +
                (f' for non-finite terms {terms}' if terms else ''))

    def _log_summary(self, runner) -> None:
        print_log(
            f'non-finite loss guard: epoch {runner.epoch + 1}: '
            f'{self._counts()}',
            logger='current',
            level=logging.WARNING if self.skipped else logging.INFO)
        self._reset()


def _epoch_length(runner) -> int:
    """Iterations per epoch of this rank (at least 1)."""
    return max(1, len(runner.train_dataloader))
