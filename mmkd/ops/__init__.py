"""Operators mmkd computes its own way (same numbers as mmcv's)."""
from .roi_align import SeparableRoIAlign, roi_align_separable

__all__ = ['SeparableRoIAlign', 'roi_align_separable']
