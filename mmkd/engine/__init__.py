"""Runner-side pieces: launch helpers, config checks, checkpoints, optimizer
wrappers, hooks and the atomic checkpoint backend."""
from .atomic_backend import AtomicLocalBackend
from .hooks import NonFiniteLossHook, RNGStateHook
from .optim_wrapper import AutocastOptimWrapper

__all__ = [
    'AtomicLocalBackend', 'AutocastOptimWrapper', 'NonFiniteLossHook',
    'RNGStateHook'
]
