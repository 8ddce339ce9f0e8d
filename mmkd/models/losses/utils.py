"""Reduction helpers shared by the mmkd losses.

They wrap MMDetection's ``weight_reduce_loss`` so every mmkd loss reduces
exactly like an MMDetection loss, plus two things MMDetection leaves to each
loss: a clear error for an unknown reduction, and a finite zero that keeps
the graph connected when the batch is empty (``'mean'`` over zero values
would be ``nan``). It also holds the range checks of the values the paper's
equations constrain, and the float32 guard every distillation term runs
under (mixed precision must not reach the loss math), and the checks and
resizing that every loss between a student and a teacher feature map needs
(``feature_pair``, ``feature_mask``).
"""
import contextlib
import math
from typing import Iterator, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor

from mmkd.utils.errors import ConfigError

REDUCTIONS = ('none', 'mean', 'sum')
_REDUCED = (torch.float16, torch.bfloat16)


def check_min(owner: str,
              name: str,
              value,
              low: float,
              *,
              strict: bool = False,
              meaning: str = '') -> float:
    """Return ``value`` if it is a finite number ``>= low`` (``> low`` with
    ``strict``).

    Raises:
        ConfigError: (a ``ValueError``) naming the value and the range, e.g.
            ``WeightedKDLoss: T=0.0 must be > 0 (the softmax temperature)``.
    """
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = number and math.isfinite(value) and (value > low
                                              if strict else value >= low)
    if not ok:
        why = f' ({meaning})' if meaning else ''
        raise ConfigError(f"{owner}: {name}={value!r} must be a number "
                          f"{'>' if strict else '>='} {low:g}{why}")
    return value


def fp32(*tensors: Tensor) -> Tuple[Tensor, ...]:
    """The tensors with float16 / bfloat16 cast up to float32 (float64 is
    kept); the casts are differentiable."""
    return tuple(t.float() if t.dtype in _REDUCED else t for t in tensors)


@contextlib.contextmanager
def no_autocast(tensor: Tensor) -> Iterator[None]:
    """Switch off an enclosing ``torch.autocast`` on ``tensor``'s device, so
    the loss math runs in the precision of its (float32) inputs."""
    with torch.autocast(device_type=tensor.device.type, enabled=False):
        yield


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is ``'none'``, ``'mean'`` or ``'sum'``.

    Raises:
        ValueError: For any other value; the message names it.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, '
                         f'got {reduction!r}')
    return reduction


def reduce_values(values: Tensor,
                  source: Tensor,
                  *,
                  weight: Optional[Tensor] = None,
                  reduction: str = 'mean',
                  avg_factor: Optional[Union[float, Tensor]] = None,
                  loss_weight: float = 1.0) -> Tensor:
    """Weight, reduce and scale per-sample (or per-element) loss values.

    Follows ``mmdet.models.losses.utils.weight_reduce_loss``: ``'none'``
    keeps ``values``, ``'sum'`` sums them, ``'mean'`` averages them, or
    divides their sum by ``avg_factor`` when it is given. The result is
    multiplied by ``loss_weight``.

    Args:
        values (Tensor): Unreduced loss values, any shape.
        source (Tensor): The student input the values were computed from.
            When ``values`` is empty and ``reduction`` is not ``'none'``,
            ``source.sum() * 0`` is returned, a finite zero that still
            backpropagates (keeps DDP graphs connected).
        weight (Tensor, optional): Multiplies ``values`` before reduction;
            the caller checks its shape.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor (float | Tensor, optional): Denominator of ``'mean'``.
        loss_weight (float): Scale of the result.

    Returns:
        Tensor: A scalar, or a tensor shaped like ``values`` for ``'none'``.
    """
    check_reduction(reduction)
    if avg_factor is not None and reduction == 'sum':
        raise ValueError('avg_factor can not be used with reduction="sum"')
    if values.numel() == 0 and reduction != 'none':
        return source.sum() * 0
    loss = weight_reduce_loss(
        values, weight=weight, reduction=reduction, avg_factor=avg_factor)
    return loss_weight * loss


def feature_pair(owner: str, student_feat: Tensor,
                 teacher_feat: Tensor) -> Tuple[Tensor, Tensor]:
    """Check an (adapted) student map against a teacher map; return the
    student map at the teacher's spatial size and the detached teacher.

    A student map of another spatial size is resized to the teacher's
    (bilinear, ``align_corners=False``), as the hint of a high-resolution
    teacher needs.

    Args:
        owner (str): The loss, named in the errors.
        student_feat (Tensor): ``(N, C, H_s, W_s)``.
        teacher_feat (Tensor): ``(N, C, H, W)``.

    Returns:
        tuple[Tensor, Tensor]: ``(N, C, H, W)`` student map (differentiable)
        and teacher map (detached, in the student's dtype).

    Raises:
        ValueError: Maps that are not 4-D, differ in batch size, or differ
            in channels (the message says which ``HintAdapter`` to add).
    """
    if student_feat.dim() != 4 or teacher_feat.dim() != 4:
        raise ValueError(f'{owner} expects (N, C, H, W) feature maps, '
                         f'got {tuple(student_feat.shape)} and '
                         f'{tuple(teacher_feat.shape)}')
    if student_feat.size(0) != teacher_feat.size(0):
        raise ValueError(f'{owner}: student and teacher feature maps must '
                         'have the same batch size, got '
                         f'{student_feat.size(0)} and {teacher_feat.size(0)}')
    c_s, c_t = student_feat.size(1), teacher_feat.size(1)
    if c_s != c_t:
        raise ValueError(
            f'{owner}: the student feature has {c_s} channels but the '
            f'teacher hint has {c_t} channels. Configure a HintAdapter that '
            f'maps {c_s} -> {c_t} channels, e.g. adapters=[dict('
            f"type='HintAdapter', in_channels={c_s}, out_channels={c_t})] "
            'in the distiller config.')
    if student_feat.shape[-2:] != teacher_feat.shape[-2:]:
        student_feat = F.interpolate(
            student_feat,
            size=teacher_feat.shape[-2:],
            mode='bilinear',
            align_corners=False)
    return student_feat, teacher_feat.detach().to(student_feat.dtype)


def feature_mask(owner: str, weight: Optional[Tensor],
                 feat: Tensor) -> Optional[Tensor]:
    """``weight > 0`` as a boolean ``(N, 1, H, W)`` mask of the positions
    of ``feat`` that count (the distiller's padding mask), or None.

    Raises:
        ValueError: ``weight`` of another shape than ``(N, 1, H, W)`` or
            ``(N, H, W)`` with ``feat``'s ``N, H, W``.
    """
    if weight is None:
        return None
    n, _, height, width = feat.shape
    if weight.dim() == 3:
        weight = weight[:, None]
    if tuple(weight.shape) != (n, 1, height, width):
        raise ValueError(f'{owner}: weight must be a (N, 1, H, W) = '
                         f'{(n, 1, height, width)} mask of the teacher map, '
                         f'got {tuple(weight.shape)}')
    return weight > 0
