"""Data transforms of mmkd (registered in the ``mmkd`` scope)."""
from .high_res_teacher import PackDistillInputs, StudentDownscale

__all__ = ['PackDistillInputs', 'StudentDownscale']
