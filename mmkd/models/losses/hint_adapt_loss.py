"""Hint loss on adapted features (Chen et al., NIPS 2017; FitNets).

    L_hint = || adapt(V_student) - Z_teacher ||_2^2     (or the L1 norm)

``adapt`` is a ``HintAdapter`` (a 1x1 conv by default) that maps the
student's guided-layer channels to the teacher's hint-layer channels; this
loss receives the already adapted map.
"""
from typing import Optional, Union

import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS
from .utils import check_reduction, reduce_values


def _check_hint_shapes(student_feat: Tensor, teacher_feat: Tensor) -> None:
    if student_feat.dim() != 4 or teacher_feat.dim() != 4:
        raise ValueError('HintAdaptLoss expects (N, C, H, W) feature maps, '
                         f'got {tuple(student_feat.shape)} and '
                         f'{tuple(teacher_feat.shape)}')
    if student_feat.size(0) != teacher_feat.size(0):
        raise ValueError('student and teacher feature maps must have the '
                         f'same batch size, got {student_feat.size(0)} and '
                         f'{teacher_feat.size(0)}')
    c_s, c_t = student_feat.size(1), teacher_feat.size(1)
    if c_s != c_t:
        raise ValueError(
            f'HintAdaptLoss: the student feature has {c_s} channels but the '
            f'teacher hint has {c_t} channels. Configure a HintAdapter that '
            f'maps {c_s} -> {c_t} channels, e.g. adapters=[dict('
            f"type='HintAdapter', in_channels={c_s}, out_channels={c_t})] "
            'in the distiller config.')


def hint_adapt_loss(student_feat: Tensor,
                    teacher_feat: Tensor,
                    *,
                    p: int = 2) -> Tensor:
    """Elementwise hint loss, ``(s - t)**2`` for ``p=2``, ``|s - t|``
    for ``p=1``.

    A student map of another spatial size is first resized to the
    teacher's (bilinear, ``align_corners=False``); the teacher is detached.

    Args:
        student_feat (Tensor): ``(N, C, H_s, W_s)`` adapted student map.
        teacher_feat (Tensor): ``(N, C, H, W)`` teacher hint map.
        p (int): 2 (squared L2) or 1 (L1).

    Returns:
        Tensor: ``(N, C, H, W)`` elementwise losses.

    Raises:
        ValueError: On an invalid ``p``, or maps that are not 4-D, differ in
            batch size or differ in channels (configure a ``HintAdapter``).
    """
    if p not in (1, 2):
        raise ValueError(f'HintAdaptLoss: p must be 1 or 2, got {p!r}')
    _check_hint_shapes(student_feat, teacher_feat)
    if student_feat.shape[-2:] != teacher_feat.shape[-2:]:
        student_feat = F.interpolate(
            student_feat,
            size=teacher_feat.shape[-2:],
            mode='bilinear',
            align_corners=False)
    diff = student_feat - teacher_feat.detach().to(student_feat.dtype)
    return diff.abs() if p == 1 else diff**2


@MODELS.register_module()
class HintAdaptLoss(nn.Module):
    """Hint loss ``||adapt(V_s) - Z_t||^2`` (Chen et al., NIPS 2017).

    Args:
        p (int): 2 for the squared L2 distance (the paper), 1 for L1.
            Defaults to 2.
        loss_weight (float): Scale of the loss, the paper's
            ``gamma = 0.5``. Defaults to 0.5.
        reduction (str): ``'none'`` (the elementwise map), ``'mean'`` (over
            all elements) or ``'sum'``.
    """

    def __init__(self,
                 p: int = 2,
                 loss_weight: float = 0.5,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if p not in (1, 2):
            raise ValueError(f'HintAdaptLoss: p must be 1 or 2, got {p!r}')
        self.p = p
        self.loss_weight = loss_weight
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
            weight (Tensor, optional): ``(N,)`` per-sample weights, or any
                shape that broadcasts to ``(N, C, H, W)`` (e.g. an
                ``(N, 1, H, W)`` mask); multiplies the elementwise losses.
            avg_factor (float | Tensor, optional): Denominator of ``'mean'``
                (instead of the number of elements).
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: A scalar, or ``(N, C, H, W)`` for ``'none'``.
        """
        reduction = check_reduction(reduction_override or self.reduction)
        values = hint_adapt_loss(student_feat, teacher_feat, p=self.p)
        if weight is not None:
            weight = _expand_weight(weight, values)
        return reduce_values(
            values,
            student_feat,
            weight=weight,
            reduction=reduction,
            avg_factor=avg_factor,
            loss_weight=self.loss_weight)


def _expand_weight(weight: Tensor, values: Tensor) -> Tensor:
    """Broadcast an ``(N,)`` or broadcastable weight to ``values``."""
    message = ('HintAdaptLoss: weight must have shape (N,) or broadcast to '
               f'{tuple(values.shape)}, got {tuple(weight.shape)}')
    if weight.dim() == 1:
        if weight.numel() != values.size(0):
            raise ValueError(message)
        weight = weight.view(-1, 1, 1, 1)
    try:
        return weight.expand_as(values)
    except RuntimeError:
        raise ValueError(message) from None
