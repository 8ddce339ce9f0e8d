"""Class-weighted soft-target distillation loss (Chen et al., NIPS 2017).

    L_soft(P_s, P_t) = - sum_c w_c * P_t,c * log P_s,c,   P = softmax(Z / T)

with ``w_background = 1.5`` and ``w_foreground = 1`` in the paper, so the
loss is not dominated by the many background RoIs / anchors. The value is
scaled by ``T ** 2`` so its gradients keep their size when ``T`` changes
(Hinton et al., 2015).
"""
from typing import Optional, Union

import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS
from .utils import check_min, check_reduction, fp32, no_autocast, reduce_values


def weighted_softmax_kd_loss(student_logits: Tensor,
                             teacher_logits: Tensor,
                             *,
                             fg_weight: float = 1.0,
                             bg_weight: float = 1.5,
                             T: float = 1.0) -> Tensor:
    """Per-sample class-weighted soft cross-entropy over softmax outputs.

    ``-T**2 * sum_c w_c * softmax(t / T)_c * log_softmax(s / T)_c`` where
    ``w_c = bg_weight`` for the last column (MMDetection puts background
    last) and ``fg_weight`` for every other column. The teacher is detached.

    Args:
        student_logits (Tensor): ``(num_samples, num_classes + 1)``.
        teacher_logits (Tensor): ``(num_samples, num_classes + 1)``.
        fg_weight (float): Weight of each foreground class.
        bg_weight (float): Weight of the background class.
        T (float): Softmax temperature, > 0.

    Returns:
        Tensor: ``(num_samples,)`` per-sample losses.
    """
    if student_logits.dim() != 2 or student_logits.size(1) < 2:
        raise ValueError('softmax KD expects logits of shape '
                         '(num_samples, num_classes + 1) with at least 2 '
                         f'columns, got {tuple(student_logits.shape)}')
    _check_same_shape(student_logits, teacher_logits)
    log_p_s = F.log_softmax(student_logits / T, dim=1)
    p_t = F.softmax(teacher_logits.detach().to(log_p_s.dtype) / T, dim=1)
    class_weight = log_p_s.new_full((log_p_s.size(1), ), fg_weight)
    class_weight[-1] = bg_weight
    return -(T**2) * (class_weight * p_t * log_p_s).sum(dim=1)


def weighted_sigmoid_kd_loss(student_logits: Tensor,
                             teacher_logits: Tensor,
                             *,
                             fg_weight: float = 1.0,
                             bg_weight: float = 1.5,
                             T: float = 1.0) -> Tensor:
    """Per-sample class-weighted soft cross-entropy of a sigmoid score.

    The score is read as two classes {foreground, background} (e.g. the RPN
    objectness), with ``p = sigmoid(logit / T)`` the foreground probability::

        -T**2 * (fg_weight * p_t * log p_s
                 + bg_weight * (1 - p_t) * log(1 - p_s))

    computed with ``logsigmoid`` (``log(1 - p) = logsigmoid(-logit / T)``).
    The teacher is detached.

    Args:
        student_logits (Tensor): ``(num_samples,)`` or ``(num_samples, 1)``.
        teacher_logits (Tensor): Same shape as ``student_logits``.
        fg_weight (float): Weight of the foreground class.
        bg_weight (float): Weight of the background class.
        T (float): Temperature, > 0.

    Returns:
        Tensor: ``(num_samples,)`` per-sample losses.
    """
    shape = tuple(student_logits.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise ValueError('sigmoid KD expects logits of shape (num_samples,) '
                         f'or (num_samples, 1), got {shape}')
    _check_same_shape(student_logits, teacher_logits)
    s = student_logits.reshape(-1) / T
    t = teacher_logits.detach().reshape(-1).to(s.dtype) / T
    # sigmoid(-t) is 1 - sigmoid(t) without cancellation
    fg_term = fg_weight * t.sigmoid() * F.logsigmoid(s)
    bg_term = bg_weight * (-t).sigmoid() * F.logsigmoid(-s)
    return -(T**2) * (fg_term + bg_term)


def _check_same_shape(student: Tensor, teacher: Tensor) -> None:
    if student.shape != teacher.shape:
        raise ValueError('student and teacher logits must have the same '
                         f'shape, got {tuple(student.shape)} and '
                         f'{tuple(teacher.shape)}; the teacher must score '
                         'the same samples (RoIs / anchors) as the student')


def _check_weight(weight: Optional[Tensor], values: Tensor) -> None:
    if weight is not None and weight.shape != values.shape:
        raise ValueError('WeightedKDLoss: weight must have shape '
                         f'{tuple(values.shape)} (one per sample), got '
                         f'{tuple(weight.shape)}')


@MODELS.register_module()
class WeightedKDLoss(nn.Module):
    """Class-weighted soft-target KD loss (Chen et al., NIPS 2017).

    ``L_soft = -T**2 * sum_c w_c * P_t,c * log P_s,c`` with
    ``P = softmax(Z / T)`` (or, with ``use_sigmoid=True``, the two classes
    {fg, bg} of a sigmoid score such as the RPN objectness).

    Args:
        fg_weight (float): Weight of foreground classes. Defaults to 1.0.
        bg_weight (float): Weight of the background class (the last column
            in softmax mode). Defaults to 1.5, the paper's value.
        T (float): Temperature, > 0. Defaults to 1.0, the paper's value.
        use_sigmoid (bool): Read the logits as one sigmoid score per sample
            instead of a softmax over ``num_classes + 1`` columns.
        loss_weight (float): Scale of the loss, >= 0. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.

    The class weights and ``loss_weight`` must be >= 0 (a negative weight
    would push the student away from the teacher); the loss is computed in
    float32 (or float64) whatever the precision of the logits.
    """

    def __init__(self,
                 fg_weight: float = 1.0,
                 bg_weight: float = 1.5,
                 T: float = 1.0,
                 use_sigmoid: bool = False,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        name = 'WeightedKDLoss'
        self.T = check_min(
            name, 'T', T, 0, strict=True, meaning='the softmax temperature')
        self.fg_weight = check_min(
            name, 'fg_weight', fg_weight, 0, meaning='weight of the objects')
        self.bg_weight = check_min(
            name,
            'bg_weight',
            bg_weight,
            0,
            meaning='weight of the background')
        self.use_sigmoid = use_sigmoid
        self.loss_weight = check_min(name, 'loss_weight', loss_weight, 0)
        self.reduction = check_reduction(reduction)

    def forward(self,
                student_logits: Tensor,
                teacher_logits: Tensor,
                *,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): ``(num_samples, num_classes + 1)``, or
                ``(num_samples,)`` / ``(num_samples, 1)`` with
                ``use_sigmoid=True``.
            teacher_logits (Tensor): Same shape; no gradient reaches it.
            weight (Tensor, optional): ``(num_samples,)`` sample weights.
            avg_factor (float | Tensor, optional): Denominator of ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: A scalar, or ``(num_samples,)`` for ``'none'``.
        """
        reduction = check_reduction(reduction_override or self.reduction)
        kd_func = (
            weighted_sigmoid_kd_loss
            if self.use_sigmoid else weighted_softmax_kd_loss)
        student_logits, teacher_logits = fp32(student_logits, teacher_logits)
        with no_autocast(student_logits):
            values = kd_func(
                student_logits,
                teacher_logits,
                fg_weight=self.fg_weight,
                bg_weight=self.bg_weight,
                T=self.T)
            _check_weight(weight, values)
            return reduce_values(
                values,
                student_logits,
                weight=weight,
                reduction=reduction,
                avg_factor=avg_factor,
                loss_weight=self.loss_weight)
