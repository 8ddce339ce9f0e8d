"""mmkd.evaluation.metrics."""
from .kitti_metric import KittiMetric

__all__ = ['KittiMetric']
