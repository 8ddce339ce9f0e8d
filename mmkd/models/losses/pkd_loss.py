"""PKD: feature imitation with the Pearson correlation coefficient (Cao et
al., "PKD: General Distillation Framework for Object Detectors via Pearson
Correlation Coefficient", NeurIPS 2022).

Each channel of each image is standardised over the image's positions (zero
mean, unit variance), for the student's adapted map and the teacher's map
alike, and the student imitates the teacher's standardised map by MSE::

    s^_ncp = (s_ncp - mean_p s_nc) / std_p s_nc            (t^ likewise)
    L_PKD  = 1 / (N C) sum_{n, c} 1 / (2 P_n) sum_p (s^_ncp - t^_ncp)^2
           = 1 / (N C) sum_{n, c} (1 - r_nc)

where ``p`` runs over the ``P_n`` un-padded positions of image ``n`` (the
batch padding is left out of the means, the standard deviations and the
sum), ``std`` is the population standard deviation, and ``r_nc`` is the
Pearson correlation between the student's and the teacher's channel ``c``
on image ``n``. The second line is the paper's point: half the MSE of
standardised maps is one minus the correlation, so the student learns the
teacher's pattern, not its magnitude, and no channel or level dominates by
its scale. Per image, the value is the paper's ``1 / (2 H W C) sum (s^ -
t^)^2`` with ``H W`` the image's own positions; images count equally.

Each value lies in ``[0, 2]``: 0 for a student map that is an increasing
affine copy of the teacher's, 1 for an uncorrelated one, 0.5 for a
constant one (its standardised map is 0).

MMRazor's ``PKDLoss`` standardises each channel over the whole batch
(images and positions together, padding included, with the sample standard
deviation); here each image has its own statistics, as in the paper's
per-image equation, so an image's loss does not depend on the other images
of its batch or on how much padding they bring.

Default weight: 6 per FPN level, the value of MMRazor's Faster R-CNN
R101 -> R50 configuration of the method
(``configs/distill/mmdet/pkd/pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py``,
applied there to P2-P5).
"""
from typing import Optional, Union

import torch
from torch import Tensor, nn

from mmkd.registry import MODELS
from .utils import (check_min, check_reduction, feature_mask, feature_pair,
                    fp32, no_autocast, reduce_values)

# Added to the variance before its square root: a constant channel (say a
# dead ReLU) standardises to 0 with finite gradients instead of 0 / 0. It
# is in the features' units squared: a channel whose standard deviation is
# not far above 1e-3 is standardised to less than unit variance.
EPS = 1e-6


def _standardise(x: Tensor, mask: Tensor, count: Tensor, eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` per image and channel over the
    positions where ``mask`` is 1 (population variance)."""
    mean = (x * mask).sum((2, 3), keepdim=True) / count
    centred = (x - mean) * mask
    var = (centred**2).sum((2, 3), keepdim=True) / count
    return centred * torch.rsqrt(var + eps)


def pkd_loss(student_feat: Tensor,
             teacher_feat: Tensor,
             weight: Optional[Tensor] = None,
             *,
             eps: float = EPS) -> Tensor:
    """One minus the Pearson correlation per image and channel.

    Args:
        student_feat (Tensor): ``(N, C, H_s, W_s)`` adapted student map,
            resized to the teacher's size when it differs (bilinear).
        teacher_feat (Tensor): ``(N, C, H, W)``; detached.
        weight (Tensor, optional): ``(N, 1, H, W)`` mask, 0 on the
            positions left out (the batch padding); all count when None.
        eps (float): Added to each variance.

    Returns:
        Tensor: ``(N, C)``: ``sum_p (s^ - t^)^2 / (2 P_n)``, 0 for an image
        without a position that counts.
    """
    student_feat, teacher_feat = feature_pair('PKDLoss', student_feat,
                                              teacher_feat)
    mask = feature_mask('PKDLoss', weight, teacher_feat)
    mask = (
        student_feat.new_ones(student_feat[:, :1].shape)
        if mask is None else mask.to(student_feat.dtype))
    count = mask.sum((2, 3), keepdim=True).clamp_min(1.0)  # (N, 1, 1, 1)
    s_hat = _standardise(student_feat, mask, count, eps)
    t_hat = _standardise(teacher_feat, mask, count, eps)
    return ((s_hat - t_hat)**2).sum((2, 3)) / (2 * count.flatten(1))


@MODELS.register_module()
class PKDLoss(nn.Module):
    """``1 - Pearson(adapt(V_s), Z_t)`` per image and channel (Cao et al.,
    NeurIPS 2022); see the module docstring for the equation.

    Args:
        loss_weight (float): Scale of the loss; >= 0. Defaults to 6.0 (per
            hint level; MMRazor's Faster R-CNN configuration).
        reduction (str): ``'mean'`` (default: over images and channels, the
            paper's ``1 / (N C)``), ``'sum'`` or ``'none'`` (``(N, C)``).
        eps (float): Added to each variance before the square root; > 0.
            Defaults to 1e-6.
    """

    def __init__(self,
                 loss_weight: float = 6.0,
                 reduction: str = 'mean',
                 eps: float = EPS) -> None:
        super().__init__()
        self.loss_weight = check_min(
            'PKDLoss',
            'loss_weight',
            loss_weight,
            0,
            meaning='6 per level '
            "in MMRazor's Faster R-CNN configuration")
        self.reduction = check_reduction(reduction)
        self.eps = check_min('PKDLoss', 'eps', eps, 0, strict=True)

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
                ``image_mask``): positions where it is 0 are left out of
                the statistics and of the sum; it is a mask, any other
                value counts as 1.
            avg_factor (float | Tensor, optional): Denominator of
                ``'mean'`` instead of ``N * C``.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: A scalar, or ``(N, C)`` for ``'none'``.
        """
        reduction = check_reduction(reduction_override or self.reduction)
        # float32 even under autocast: the statistics lose their precision
        # in bfloat16.
        student_feat, teacher_feat = fp32(student_feat, teacher_feat)
        with no_autocast(student_feat):
            values = pkd_loss(student_feat, teacher_feat, weight, eps=self.eps)
            return reduce_values(
                values,
                student_feat,
                reduction=reduction,
                avg_factor=avg_factor,
                loss_weight=self.loss_weight)
