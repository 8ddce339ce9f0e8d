"""RoI heads the distiller can drive, one seam per family, and the
families it refuses (with the reason)."""
from torch import nn

from mmkd.utils.errors import ConfigError
from .base import MissingInternalError, RoIHeadSeam, box_coding
from .pairing import StageTeacher, stage_teachers

# Families that cannot be distilled, and why (checked by class name, so that
# a family needs no import to be refused).
REFUSED = {
    'HybridTaskCascadeRoIHead':
    'its stages pass mask features (and a semantic branch) from one stage '
    'to the next, a data flow the cascade seam does not drive',
    'SCNetRoIHead':
    'its stages share feature relay and context branches with the mask '
    'head, a data flow the cascade seam does not drive',
    'SparseRoIHead':
    'its stages refine learned proposal features matched one to one with '
    'the objects (Sparse R-CNN, QueryInst): there are no sampled RoIs for '
    'the teacher to score',
    'PointRendRoIHead':
    'its mask head trains on sampled points with its own loss, which the '
    'distiller would bypass',
    'MaskScoringRoIHead':
    'its mask IoU head trains on the mask head\'s outputs, which the '
    'distiller would bypass',
    'GridRoIHead':
    'its grid head replaces box regression with its own targets and loss, '
    'which the distiller would bypass',
}


def roi_seam(roi_head: nn.Module, role: str) -> RoIHeadSeam:
    """The seam of ``roi_head`` (exactly MMDetection's ``StandardRoIHead``
    or ``CascadeRoIHead``); ``ConfigError`` naming the family and the
    reason otherwise. ``role`` is ``'student'`` or ``'teacher'``."""
    from mmdet.models.roi_heads import CascadeRoIHead, StandardRoIHead

    from .cascade import CascadeSeam
    from .standard import StandardSeam
    seams = {StandardRoIHead: StandardSeam, CascadeRoIHead: CascadeSeam}
    kind = type(roi_head)
    if kind in seams and getattr(roi_head, 'with_bbox', False):
        return seams[kind](roi_head)
    name = kind.__name__
    reason = REFUSED.get(name) or (
        'it has no box head' if kind in seams else
        "it is not MMDetection's StandardRoIHead or CascadeRoIHead, and "
        'what it changes in training (its own loss()) would be bypassed')
    raise ConfigError(
        f"TwoStageDistiller: the {role}'s roi_head is a {name}, which "
        f'cannot be distilled: {reason}. The distiller drives Faster R-CNN, '
        'Mask R-CNN and Cascade R-CNN (Mask) RoI heads; train this '
        'detector without distillation')


__all__ = [
    'MissingInternalError', 'RoIHeadSeam', 'StageTeacher', 'box_coding',
    'roi_seam', 'stage_teachers'
]
