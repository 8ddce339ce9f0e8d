"""Mixed precision that also runs on CPU."""
import contextlib

import torch
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast

from mmkd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward runs under ``torch.autocast``.

    MMEngine's ``AmpOptimWrapper`` only runs on GPU-like devices. bf16 has
    the range of fp32, so no loss scaling is needed; the parameters and the
    optimizer stay in fp32.

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'``.
        **kwargs: passed to ``OptimWrapper``.
    """

    def __init__(self, *args, dtype: str = 'bfloat16', **kwargs):
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(
                f"AutocastOptimWrapper: dtype={dtype!r}; use 'bfloat16' or "
                "'float16'")
        super().__init__(*args, **kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextlib.contextmanager
    def optim_context(self, model):
        with super().optim_context(model), autocast(dtype=self.cast_dtype):
            yield
