"""The teacher's RoI-head outputs on the student's RoIs, as the stage
pairing (``roi_seams.pairing``) says: one teacher stage's, or a cascade's
test-time ensemble. Everything runs without gradients, in the teacher's
precision, on the teacher's image (``TeacherInput``)."""
from functools import partial
from typing import Any, Optional, Sequence, Tuple

from torch import Tensor

from .roi_seams import RoIHeadSeam, StageTeacher
from .roi_seams.pairing import ENSEMBLE


def teacher_boxes(seam: RoIHeadSeam, plan: Optional[StageTeacher],
                  teacher_input, feats: Tuple[Tensor], rois: Tensor,
                  samples: Sequence) -> Tuple[dict, Any]:
    """``cls_score`` ``(num_rois, num_classes + 1)`` (the soft targets)
    and ``bbox_pred`` (the bound) on the student's ``rois``, and the
    teacher box head whose deltas ``bbox_pred`` holds; ``({}, None)`` for
    a stage without a teacher."""
    if plan is None or (plan.cls is None and plan.reg is None):
        return {}, None
    run, t_rois = teacher_input.run, teacher_input.rois(rois, samples)
    outs = {
        i: run(partial(seam.bbox_forward, i), feats, t_rois)
        for i in sorted({plan.cls, plan.reg} - {None, ENSEMBLE})
    }
    t_out = {}
    if plan.cls == ENSEMBLE:
        ensemble = partial(
            seam.ensemble_logits, batch_img_metas=teacher_input.metas(samples))
        t_out['cls_score'] = run(ensemble, feats, t_rois)
    elif plan.cls is not None:
        t_out['cls_score'] = outs[plan.cls]['cls_score']
    if plan.reg is None:
        return t_out, None
    t_out['bbox_pred'] = outs[plan.reg]['bbox_pred']
    return t_out, seam.bbox_head(plan.reg)


def teacher_masks(seam: RoIHeadSeam, plan: StageTeacher, teacher_input,
                  feats: Tuple[Tensor], pos_rois: Tensor,
                  samples: Sequence) -> Tensor:
    """The teacher's mask logits ``(num_pos, C or 1, M, M)`` on the
    student's positive RoIs."""
    forward = (
        seam.ensemble_mask_logits if plan.mask == ENSEMBLE else partial(
            seam.mask_forward, plan.mask))
    return teacher_input.run(forward, feats,
                             teacher_input.rois(pos_rois, samples))
