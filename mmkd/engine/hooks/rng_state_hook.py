"""Random number generators: saved with each checkpoint, untouched by
validation."""
import contextlib
import random
from typing import Iterator, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook

from mmkd.registry import HOOKS


def get_rng_states() -> dict:
    """The states of the torch (CPU and CUDA), numpy and random
    generators."""
    states = dict(
        torch=torch.get_rng_state(),
        numpy=np.random.get_state(),
        python=random.getstate())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Restore what :func:`get_rng_states` returned."""
    torch.set_rng_state(states['torch'])
    np.random.set_state(states['numpy'])
    random.setstate(states['python'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


@contextlib.contextmanager
def kept_rng_states() -> Iterator[None]:
    """Run a block without changing the random generators' states."""
    states = get_rng_states()
    try:
        yield
    finally:
        set_rng_states(states)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Puts the torch / numpy / random states into every checkpoint and
    restores them on resume; validation runs on a copy of the streams.

    MMEngine re-seeds the generators when a run resumes, so the RoI and
    anchor samplers (``torch``) and the data augmentations (``numpy``) would
    draw other numbers than the uninterrupted run did. With this hook a run
    resumed from an epoch checkpoint continues exactly as if it had never
    stopped (given deterministic kernels and ``num_workers=0`` or seeded
    workers). In a distributed run every rank gets its own states back.

    Validation between epochs draws random numbers too (each data loader
    iterator draws its workers' base seed from the torch generator) after
    the epoch's checkpoint is written, so a run resumed from that checkpoint
    would train on other numbers than the uninterrupted run. The states are
    therefore saved before validation and restored after it: evaluation
    never moves the training streams.
    """

    # Before CheckpointHook (VERY_LOW), which saves in the same calls.
    priority = 'LOW'

    def __init__(self) -> None:
        self._train_states: Optional[dict] = None
        self._ranks: Optional[list] = None

    def before_val(self, runner) -> None:
        self._train_states = get_rng_states()

    def after_val(self, runner) -> None:
        if self._train_states is not None:
            set_rng_states(self._train_states)
            self._train_states = None

    def _gather(self) -> None:
        """Every rank's states, for the checkpoint that rank 0 writes next
        (only rank 0 calls ``before_save_checkpoint``)."""
        if get_world_size() > 1:
            self._ranks = all_gather_object(_saved(get_rng_states()))

    def after_train_epoch(self, runner) -> None:
        self._gather()

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        # Gather only where CheckpointHook saves (its own condition).
        if any(_saves_now(hook, runner) for hook in runner.hooks):
            self._gather()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # A checkpoint written during validation (the best one) stores the
        # training streams, not validation's; with several ranks, each
        # one's streams (their RoI samplers draw different amounts on
        # different images).
        checkpoint['rng_state'] = _saved(self._train_states
                                         or get_rng_states())
        if self._ranks is not None:
            checkpoint['rng_state']['ranks'] = self._ranks

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None or not getattr(runner, '_resume', False):
            return
        ranks = state.get('ranks', [])
        if get_world_size() == len(ranks):
            state = ranks[get_rank()]
        set_rng_states(state)


def _saved(states: dict) -> dict:
    """The states a checkpoint keeps (CUDA's depend on the devices)."""
    return {k: v for k, v in states.items() if k != 'cuda'}


def _saves_now(hook, runner) -> bool:
    """Whether ``hook`` is an iteration-based CheckpointHook that saves
    after this iteration."""
    if not isinstance(hook, CheckpointHook) or hook.by_epoch:
        return False
    return hook.every_n_train_iters(runner, hook.interval, hook.save_begin) \
        or (hook.save_last and hook.is_last_train_iter(runner))
