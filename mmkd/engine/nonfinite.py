"""What a NaN/Inf loss term does in a training run: stop it, or skip the
batch. One mechanism for every model, detector or distiller
(``NonFiniteLossHook`` installs it; see ``hooks/nonfinite_hook.py``).

The guard takes the place of the model's ``parse_losses``, which MMEngine
calls in ``train_step`` between the forward pass and the optimizer wrapper,
on the single-process and the DDP path alike, so a NaN/Inf is seen before
any backward pass and never reaches the weights.

A skipped batch must leave the run as if it never happened, on every rank:

- the decision is all-reduced, so every DDP rank skips (or stops) together
  and none waits alone in a gradient all-reduce;
- the loss handed to the optimizer wrapper is a zero that reaches no
  parameter: every gradient stays ``None``, so ``optimizer.step()`` changes
  no weight and no optimizer state (SGD's momentum and weight decay, Adam's
  moments and step count skip parameters without a gradient), and DDP
  reduces nothing;
- the buffers the forward pass updated (BatchNorm statistics) are restored
  from the copy taken before the step;
- the outputs carry ``nonfinite_skipped``, on which mmkd's
  ``SkipAwareParamSchedulerHook`` does not advance the iteration-based
  schedules.
"""
import logging
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log
from torch import Tensor, nn

from mmkd.utils.errors import ConfigError, NonFiniteLossError

POLICIES = ('stop', 'skip')
# What the messages offer (the key is default_runtime.py's).
FIX = ('lower the learning rate (optim_wrapper.optimizer.lr) or the '
       'loss_weight of these terms, or clip the gradients '
       '(optim_wrapper.clip_grad)')


def nonfinite_terms(losses: Dict[str, Tensor]) -> List[str]:
    """The keys holding ``loss`` whose value (or a list item) is not
    finite."""
    return [
        key for key, value in losses.items() if 'loss' in key and not all(
            bool(torch.isfinite(v).all())
            for v in (value if isinstance(value, list) else [value]))
    ]


def on_any_rank(flag: bool, device: torch.device) -> bool:
    """``flag`` or-ed over the ranks (the flag itself outside DDP)."""
    if get_world_size() <= 1:
        return flag
    value = torch.tensor([float(flag)], device=device)
    all_reduce(value, op='max')
    return bool(value.item() > 0)


def snapshot_buffers(module: nn.Module) -> List[Tensor]:
    """Copies of ``module``'s buffers (small: BN statistics)."""
    return [buf.detach().clone() for buf in module.buffers()]


@torch.no_grad()
def restore_buffers(module: nn.Module, saved: Optional[List[Tensor]]) -> None:
    if saved is None:
        return
    for buf, value in zip(module.buffers(), saved):
        buf.copy_(value)


def iteration() -> str:
    """The runner's iteration as the log counts it (from 1)."""
    done = MessageHub.get_current_instance().get_info('iter')  # 0-based
    return 'unknown' if done is None else str(done + 1)


def check_policy(policy: str, max_skip_share: float) -> None:
    """Refuse a policy other than ``'stop'`` / ``'skip'`` and a share
    outside [0, 1]."""
    if policy not in POLICIES:
        raise ConfigError(
            f"default_hooks.nonfinite.policy={policy!r}; use 'stop' (end the "
            "run at the first non-finite loss) or 'skip' (skip such batches)")
    number = isinstance(max_skip_share,
                        (int, float)) and not isinstance(max_skip_share, bool)
    if not (number and 0 <= max_skip_share <= 1):
        raise ConfigError(
            f'default_hooks.nonfinite.max_skip_share={max_skip_share!r} must '
            'be a number in [0, 1] (the share of an epoch\'s batches that '
            'may be skipped, e.g. 0.1)')


class NonFiniteGuard:
    """The guarded ``parse_losses`` of one model.

    Args:
        model (nn.Module): the model (not its DDP wrapper), a
            ``BaseModel``.
        policy (str): ``'stop'`` raises ``NonFiniteLossError`` naming the
            terms and the iteration (counted from 1, as in the log);
            ``'skip'`` logs them and leaves weights, optimizer state,
            buffers and the learning-rate schedule as if the batch never
            happened.

    Attributes:
        last_terms (list[str]): the terms of the last skipped batch (empty
            when another rank's were the non-finite ones).
    """

    def __init__(self, model: nn.Module, policy: str = 'stop') -> None:
        check_policy(policy, 0)
        self.model, self.policy = model, policy
        self.last_terms: List[str] = []
        self._buffers = None

    def install(self) -> None:
        """Route the model's ``parse_losses`` through the guard."""
        self.remove()
        self._parse_losses = self.model.parse_losses
        self.model.parse_losses = self.parse_losses

    def remove(self) -> None:
        """Give the model back its own ``parse_losses``."""
        self.model.__dict__.pop('parse_losses', None)

    def before_step(self) -> None:
        """Call before each training step: keeps the buffers (BN
        statistics) that a skipped batch restores."""
        if self.policy == 'skip':
            self._buffers = snapshot_buffers(self.model)

    def parse_losses(self, losses: Dict[str, Tensor]) -> tuple:
        """The model's ``parse_losses``, refusing or skipping non-finite
        terms, decided on every rank together."""
        bad = nonfinite_terms(losses)
        device = next(v for v in _tensors(losses)).device
        if not on_any_rank(bool(bad), device):
            return self._parse_losses(losses)
        where = (f'non-finite loss term(s) {bad}'
                 if bad else 'non-finite loss term(s) on another rank')
        message = f'{where} at iteration {iteration()}'
        if self.policy == 'stop':
            message = (f'{message}; the run is stopped before this batch '
                       'reached the weights, the checkpoints written so far '
                       f'are intact. {FIX[0].upper()}{FIX[1:]}, or skip '
                       'such batches with --cfg-options '
                       'default_hooks.nonfinite.policy=skip')
            print_log(message, logger='current', level=logging.ERROR)
            raise NonFiniteLossError(message)
        restore_buffers(self.model, self._buffers)
        self.last_terms = bad
        print_log(
            f'{message}: batch skipped on every rank (no weight, optimizer '
            'state, buffer or schedule change)',
            logger='current',
            level=logging.WARNING)
        # Reaches no parameter: the backward pass leaves every gradient None.
        zero = torch.zeros((), device=device, requires_grad=True)
        return zero, {'loss': zero.detach(), 'nonfinite_skipped': 1.0}


def _tensors(losses: dict):
    for value in losses.values():
        if isinstance(value, Tensor):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, Tensor))
