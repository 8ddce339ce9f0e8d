"""mmkd.models.losses."""
from .cwd_loss import CWDLoss, cwd_loss
from .hint_adapt_loss import HintAdaptLoss, hint_adapt_loss
from .pkd_loss import PKDLoss, pkd_loss
from .teacher_bounded_reg_loss import (L2RegDistillLoss, TeacherBoundedRegLoss,
                                       l2_reg_distill_loss,
                                       teacher_bounded_reg_loss)
from .weighted_kd_loss import (WeightedKDLoss, weighted_sigmoid_kd_loss,
                               weighted_softmax_kd_loss)

__all__ = [
    'WeightedKDLoss', 'weighted_softmax_kd_loss', 'weighted_sigmoid_kd_loss',
    'TeacherBoundedRegLoss', 'teacher_bounded_reg_loss', 'L2RegDistillLoss',
    'l2_reg_distill_loss', 'HintAdaptLoss', 'hint_adapt_loss', 'PKDLoss',
    'pkd_loss', 'CWDLoss', 'cwd_loss'
]
