from .channels_last_hook import ChannelsLastHook
from .nonfinite_hook import NonFiniteLossHook
from .param_scheduler_hook import SkipAwareParamSchedulerHook
from .rng_state_hook import RNGStateHook

__all__ = [
    'ChannelsLastHook', 'NonFiniteLossHook', 'RNGStateHook',
    'SkipAwareParamSchedulerHook'
]
