from .param_scheduler_hook import SkipAwareParamSchedulerHook
from .rng_state_hook import RNGStateHook

__all__ = ['RNGStateHook', 'SkipAwareParamSchedulerHook']
