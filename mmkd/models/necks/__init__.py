"""mmkd.models.necks: the hint's adaptation layers."""
from .fixed_channel_map import FixedChannelMap
from .hint_adapter import HintAdapter

__all__ = ['FixedChannelMap', 'HintAdapter']
