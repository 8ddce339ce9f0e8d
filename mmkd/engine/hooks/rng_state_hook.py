"""Save and restore the random number generators with each checkpoint."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mmkd.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Puts the torch / numpy / random states into every checkpoint and
    restores them on resume.

    MMEngine re-seeds the generators when a run resumes, so the RoI and
    anchor samplers (``torch``) and the data augmentations (``numpy``) would
    draw other numbers than the uninterrupted run did. With this hook a run
    resumed from an epoch checkpoint continues exactly as if it had never
    stopped (given deterministic kernels and ``num_workers=0`` or seeded
    workers).
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = dict(
            torch=torch.get_rng_state(),
            numpy=np.random.get_state(),
            python=random.getstate())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None or not getattr(runner, '_resume', False):
            return
        torch.set_rng_state(state['torch'])
        np.random.set_state(state['numpy'])
        random.setstate(state['python'])
