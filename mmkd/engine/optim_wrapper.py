"""Mixed precision that also runs on CPU."""
import contextlib
from typing import Union

import torch
from mmengine.optim import OptimWrapper

from mmkd.registry import OPTIM_WRAPPERS
from mmkd.utils.errors import ConfigError


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward runs under ``torch.autocast``.

    MMEngine's ``AmpOptimWrapper`` only runs on GPU-like devices. The
    parameters and the optimizer stay in fp32. bf16 has the range of fp32
    and needs no loss scaling. fp16 does: its smallest normal number is
    6e-5, so small gradients flush to zero without a scale, and it is only
    accepted with a dynamic ``torch.amp.GradScaler`` (which also skips the
    steps whose gradients overflow).

    A step without any gradient (a batch the non-finite loss guard
    skipped) leaves the optimizer and the scaler untouched.

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'``.
        loss_scale (str | dict): fp16 only (bf16 ignores it):
            ``'dynamic'`` (default) or a dict of ``torch.amp.GradScaler``
            arguments (``init_scale``, ``growth_interval``, ...). A fixed
            (static) scale is refused.
        **kwargs: passed to ``OptimWrapper``.
    """

    def __init__(self,
                 *args,
                 dtype: str = 'bfloat16',
                 loss_scale: Union[str, dict] = 'dynamic',
                 **kwargs):
        if dtype not in ('bfloat16', 'float16'):
            raise ConfigError(
                f"AutocastOptimWrapper: dtype={dtype!r}; use 'bfloat16' or "
                "'float16'")
        dynamic = loss_scale == 'dynamic' or (isinstance(loss_scale, dict) and
                                              loss_scale.get('enabled', True))
        if dtype == 'float16' and not dynamic:
            raise ConfigError(
                f'AutocastOptimWrapper: loss_scale={loss_scale!r}; float16 '
                "needs loss_scale='dynamic' (or a dict of "
                'torch.amp.GradScaler arguments): a fixed scale lets fp16 '
                'gradients overflow or flush to zero')
        super().__init__(*args, **kwargs)
        self.cast_dtype = getattr(torch, dtype)
        self.loss_scaler = None
        if dtype == 'float16':
            device = _param_device(self.optimizer)
            options = loss_scale if isinstance(loss_scale, dict) else {}
            self.loss_scaler = torch.amp.GradScaler(device, **options)

    @contextlib.contextmanager
    def optim_context(self, model):
        # torch.autocast directly: MMEngine's `autocast` allows only bf16 on
        # CPU, and fp16 autocast (with the scaler) runs there too.
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=self.cast_dtype):
            yield

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is None:
            return super().backward(loss, **kwargs)
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if not _has_grad(self.optimizer):
            return  # nothing to apply (a skipped batch)
        if self.loss_scaler is None:
            return super().step(**kwargs)
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler = state_dict.pop('loss_scaler', None)
        if scaler is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler)
        super().load_state_dict(state_dict)


def _param_device(optimizer: torch.optim.Optimizer) -> str:
    for group in optimizer.param_groups:
        for param in group['params']:
            return param.device.type
    return 'cpu'


def _has_grad(optimizer: torch.optim.Optimizer) -> bool:
    return any(param.grad is not None for group in optimizer.param_groups
               for param in group['params'])
