"""mmkd.evaluation."""
from .metrics import KittiMetric

__all__ = ['KittiMetric']
