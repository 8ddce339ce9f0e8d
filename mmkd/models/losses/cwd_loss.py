"""CWD: channel-wise distillation (Shu et al., "Channel-Wise Knowledge
Distillation for Dense Prediction", ICCV 2021).

Each channel of each image becomes a distribution over the image's
positions by a softmax with temperature ``tau``, for the student's adapted
map and the teacher's map alike, and the student matches the teacher's
distribution by the KL divergence from the teacher to the student::

    phi(y)_ncp = exp(y_ncp / tau) / sum_q exp(y_ncq / tau)
    L_CWD = tau^2 / (N C) sum_{n, c} sum_p phi(t)_ncp log(phi(t)_ncp /
                                                         phi(s)_ncp)

(the paper's Eq. 4 is the per-image ``tau^2 / C sum_c KL``; it is averaged
over the ``N`` images, as MMRazor's ``ChannelWiseDivergence`` does). The
sums over positions ``p, q`` run over the image's un-padded positions only:
the batch padding takes no share of the softmax. The KL weighs each
position by the teacher's probability, so the student is pulled hardest
where a teacher channel is most active; ``tau^2`` keeps the gradients'
scale when ``tau`` changes, as in Hinton et al.'s distillation.

Each value is >= 0, 0 where the student's channel is the teacher's up to an
additive constant per image and channel.

Default weights: ``tau = 1`` and 10 per FPN level, the values of MMRazor's
Faster R-CNN R101 -> R50 configuration of the method
(``configs/distill/mmdet/cwd/cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py``,
applied there to P2-P6).
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS
from .utils import (check_min, check_reduction, feature_mask, feature_pair,
                    fp32, no_autocast, reduce_values)


def _log_softmax(x: Tensor, valid: Optional[Tensor]) -> Tensor:
    """Log-softmax over the last dim, over the ``valid`` entries only.

    Left-out entries get the dtype's most negative finite value, so they
    take no share (``exp`` underflows to 0) and a row with no valid entry
    stays finite (its values are dropped by the caller).
    """
    if valid is not None:
        x = x.masked_fill(~valid, torch.finfo(x.dtype).min)
    return F.log_softmax(x, dim=-1)


def cwd_loss(student_feat: Tensor,
             teacher_feat: Tensor,
             weight: Optional[Tensor] = None,
             *,
             tau: float = 1.0) -> Tensor:
    """``tau^2 KL(phi(t) || phi(s))`` per image and channel.

    Args:
        student_feat (Tensor): ``(N, C, H_s, W_s)`` adapted student map,
            resized to the teacher's size when it differs (bilinear).
        teacher_feat (Tensor): ``(N, C, H, W)``; detached.
        weight (Tensor, optional): ``(N, 1, H, W)`` mask, 0 on the
            positions left out (the batch padding); all count when None.
        tau (float): Softmax temperature.

    Returns:
        Tensor: ``(N, C)``; 0 for an image without a position that counts.
    """
    student_feat, teacher_feat = feature_pair('CWDLoss', student_feat,
                                              teacher_feat)
    mask = feature_mask('CWDLoss', weight, teacher_feat)
    valid = None if mask is None else mask.flatten(2)  # (N, 1, H W)
    log_p_s = _log_softmax(student_feat.flatten(2) / tau, valid)
    log_p_t = _log_softmax(teacher_feat.flatten(2) / tau, valid)
    kl = log_p_t.exp() * (log_p_t - log_p_s)
    if valid is not None:
        kl = torch.where(valid, kl, kl.new_zeros(()))
    return tau**2 * kl.sum(-1)


@MODELS.register_module()
class CWDLoss(nn.Module):
    """``tau^2 KL(softmax(Z_t / tau) || softmax(adapt(V_s) / tau))`` over
    the positions of each channel (Shu et al., ICCV 2021); see the module
    docstring for the equation.

    Args:
        tau (float): Softmax temperature; > 0. Defaults to 1.0.
        loss_weight (float): Scale of the loss; >= 0. Defaults to 10.0 (per
            hint level; MMRazor's Faster R-CNN configuration).
        reduction (str): ``'mean'`` (default: over images and channels, the
            paper's ``1 / C`` averaged over images), ``'sum'`` or ``'none'``
            (``(N, C)``).
    """

    def __init__(self,
                 tau: float = 1.0,
                 loss_weight: float = 10.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        self.tau = check_min(
            'CWDLoss', 'tau', tau, 0, strict=True, meaning='the temperature')
        self.loss_weight = check_min(
            'CWDLoss',
            'loss_weight',
            loss_weight,
            0,
            meaning='10 per level '
            "in MMRazor's Faster R-CNN configuration")
        self.reduction = check_reduction(reduction)

    def forward(self,
                student_feat: Tensor,
                teacher_feat: Tensor,
                *,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            student_feat (Tensor): ``(N, C, H_s, W_s)`` adapted student map.
            teacher_feat (Tensor): ``(N, C, H, W)``; gets no gradient.
            weight (Tensor, optional): ``(N, 1, H, W)`` mask of the teacher
                map, 0 on the batch padding (the distiller's
                ``image_mask``): positions where it is 0 take no part in
                the softmax or the sum; it is a mask, any other value
                counts as 1.
            avg_factor (float | Tensor, optional): Denominator of
                ``'mean'`` instead of ``N * C``.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: A scalar, or ``(N, C)`` for ``'none'``.
        """
        reduction = check_reduction(reduction_override or self.reduction)
        # float32 even under autocast: a softmax over thousands of positions
        # loses its small probabilities in bfloat16.
        student_feat, teacher_feat = fp32(student_feat, teacher_feat)
        with no_autocast(student_feat):
            values = cwd_loss(student_feat, teacher_feat, weight, tau=self.tau)
            return reduce_values(
                values,
                student_feat,
                reduction=reduction,
                avg_factor=avg_factor,
                loss_weight=self.loss_weight)
