"""RoI heads of the paper's detectors."""
from .dropout_bbox_head import Shared2FCDropoutBBoxHead

__all__ = ['Shared2FCDropoutBBoxHead']
