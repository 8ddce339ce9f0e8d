"""mmkd.models.necks."""
from .hint_adapter import HintAdapter

__all__ = ['HintAdapter']
