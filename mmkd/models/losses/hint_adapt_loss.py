"""Hint loss on adapted features (Chen et al., NIPS 2017; FitNets).

    L_hint = || adapt(V_student) - Z_teacher ||_2^2     (or the L1 norm)

``adapt`` is a ``HintAdapter`` (a 1x1 conv by default) that maps the
student's guided-layer channels to the teacher's hint-layer channels; this
loss receives the already adapted map.

How the map is reduced decides what the paper's gamma (``loss_weight``)
means. With ``normalize='teacher'`` (the default) the batch's squared error
is divided by the teacher map's energy over the same elements::

    L_hint = sum_{n, c, p} w (a(V) - Z)^2 / sum_{n, c, p} w Z^2

(``|.|`` in place of the squares for ``p=1``), where ``w`` masks the batch
padding (the distiller passes it) and the sums run over images, channels
and positions. It is a relative error: 1 for an all-zero student, 0 for a
perfect one, whatever the trunks' channel counts, activation scales, image
sizes and padding. So at the start of training the hint weighs about
gamma, like the detection losses, and gamma means the same for a VGG16
conv5 hint (512 channels) as for an FPN level. Which gamma trains well is
measured, not implied: on the demo's pair the paper's value left the
student below the student trained alone and 16 worked
(``configs/_base_/distill/chen2017.py`` gives the numbers and how to choose
gamma on a validation split).
``normalize='none'`` keeps the raw elementwise errors (``'mean'`` over
every element), whose scale follows the features.
"""
from typing import Optional, Union

from torch import Tensor, nn

from mmkd.registry import MODELS
from .utils import (check_min, check_reduction, feature_pair, fp32,
                    no_autocast, reduce_values)

NORMALIZE = ('teacher', 'none')
# A floor for the teacher's energy: an all-zero (or fully masked) teacher
# map gives the raw squared error, not a division by zero.
EPS = 1.0


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
    student_feat, teacher_feat = feature_pair('HintAdaptLoss', student_feat,
                                              teacher_feat)
    diff = student_feat - teacher_feat
    return diff.abs() if p == 1 else diff**2


@MODELS.register_module()
class HintAdaptLoss(nn.Module):
    """Hint loss ``||adapt(V_s) - Z_t||^2`` (Chen et al., NIPS 2017).

    Args:
        p (int): 2 for the squared L2 distance (the paper), 1 for L1.
            Defaults to 2.
        loss_weight (float): Scale of the loss, the paper's
            ``gamma = 0.5``; >= 0. Defaults to 0.5.
        reduction (str): ``'none'`` (the elementwise map), ``'mean'`` or
            ``'sum'``. With ``normalize='teacher'`` the normalised errors
            already sum to the relative error, and ``'mean'`` is their sum
            (``avg_factor`` still divides it when given); with ``'none'``,
            ``'mean'`` averages every element.
        normalize (str): ``'teacher'`` (default) divides the errors by the
            teacher map's energy over the weighted elements (a relative
            error, see the module docstring); ``'none'`` leaves them raw.
    """

    def __init__(self,
                 p: int = 2,
                 loss_weight: float = 0.5,
                 reduction: str = 'mean',
                 normalize: str = 'teacher') -> None:
        super().__init__()
        if p not in (1, 2):
            raise ValueError(f'HintAdaptLoss: p must be 1 or 2, got {p!r}')
        if normalize not in NORMALIZE:
            raise ValueError(f'HintAdaptLoss: normalize must be one of '
                             f'{NORMALIZE}, got {normalize!r}')
        self.p = p
        self.loss_weight = check_min(
            'HintAdaptLoss',
            'loss_weight',
            loss_weight,
            0,
            meaning='the hint weight gamma')
        self.reduction = check_reduction(reduction)
        self.normalize = normalize

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
        # float32 even under autocast: features of ~10 in magnitude lose
        # their small differences in bfloat16.
        student_feat, teacher_feat = fp32(student_feat, teacher_feat)
        with no_autocast(student_feat):
            values = hint_adapt_loss(student_feat, teacher_feat, p=self.p)
            if weight is not None:
                weight = _expand_weight(weight.to(values.dtype), values)
            if self.normalize == 'teacher' and values.numel():
                values = values / _teacher_energy(teacher_feat, weight, self.p)
                if reduction == 'mean' and avg_factor is None:
                    avg_factor = 1.0  # the normalised errors' sum
            return reduce_values(
                values,
                student_feat,
                weight=weight,
                reduction=reduction,
                avg_factor=avg_factor,
                loss_weight=self.loss_weight)


def _teacher_energy(teacher_feat: Tensor, weight: Optional[Tensor],
                    p: int) -> Tensor:
    """The batch's ``sum w t^2`` (``sum w |t|`` for ``p=1``) over images,
    channels and positions, at least ``EPS``; a 0-dim tensor."""
    t = teacher_feat.detach().float()
    energy = t.abs() if p == 1 else t**2
    if weight is not None:
        energy = energy * weight
    return energy.sum().clamp_min(EPS)


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
