"""What a NaN/Inf loss term does: stop the run, or skip the batch.

A skipped batch must leave the run as if it never happened, on every rank:

- the decision is all-reduced, so every DDP rank skips (or stops) together
  and none waits alone in a gradient all-reduce;
- the loss handed to the optimizer wrapper is a zero that reaches no
  parameter: every gradient stays ``None``, so ``optimizer.step()`` changes
  no weight and no optimizer state (SGD's momentum and weight decay, Adam's
  moments and step count skip parameters without a gradient), and DDP
  reduces nothing;
- the buffers the forward pass updated (BatchNorm statistics) are restored;
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


def handle_nonfinite(bad: List[str], policy: str,
                     device: torch.device) -> tuple:
    """Raise (``'stop'``) or log and return the skipped batch's
    ``(loss, log_vars)`` (``'skip'``). ``bad`` is empty on a rank whose
    own terms are finite while another rank's are not."""
    where = (f'non-finite loss term(s) {bad}'
             if bad else 'non-finite loss term(s) on another rank')
    message = f'{where} at iteration {iteration()}'
    if policy == 'stop':
        raise FloatingPointError(
            f'{message}; lower the learning rate or the loss_weight of '
            "these terms, or set model.nonfinite='skip' to skip such "
            'batches')
    print_log(
        f'{message}: batch skipped on every rank (no weight, optimizer '
        'state, buffer or schedule change)',
        logger='current',
        level=logging.WARNING)
    # Reaches no parameter: the backward pass leaves every gradient None.
    zero = torch.zeros((), device=device, requires_grad=True)
    return zero, {'loss': zero.detach(), 'nonfinite_skipped': 1.0}
