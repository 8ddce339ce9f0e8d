from .checkpoint import allow_mmengine_checkpoints, atomic_torch_save

__all__ = ['allow_mmengine_checkpoints', 'atomic_torch_save']
