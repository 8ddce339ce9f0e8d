"""Teacher-bounded regression loss (Chen et al., NIPS 2017).

    L_b(R_s, R_t, y) = ||R_s - y||^2  if ||R_s - y||^2 + m > ||R_t - y||^2
                       0              otherwise

The teacher's regression error is an upper bound: the student is only
pushed towards the ground truth where it is not already better than the
teacher by a margin ``m``. The decision is made per sample (per anchor /
per RoI), never on a batch mean.

The file also holds ``L2RegDistillLoss``, plain L2 regression towards the
teacher's output, for the "bounded vs plain L2" ablation.
"""
from typing import Optional, Union

from torch import Tensor, nn

from mmkd.registry import MODELS
from .utils import check_min, check_reduction, fp32, no_autocast, reduce_values


def _check_shapes(*tensors: Tensor) -> None:
    """All tensors must share one ``(num_samples, 4)``-like 2-D shape."""
    shapes = [tuple(tensor.shape) for tensor in tensors]
    if len(shapes[0]) != 2 or any(shape != shapes[0] for shape in shapes):
        raise ValueError('student, teacher (and target) regression tensors '
                         'must share one (num_samples, 4) shape, got ' +
                         ', '.join(map(str, shapes)))


def _weighted_sq_error(pred: Tensor,
                       ref: Tensor,
                       weight: Optional[Tensor] = None) -> Tensor:
    """``sum_j w_j * (pred_j - ref_j)**2`` per row; ``(N, 4)`` -> ``(N,)``.

    ``weight`` is ``(N,)`` (one weight per sample) or ``(N, 4)`` (one per
    coordinate); it multiplies the squared errors before the row sum.
    """
    sq_error = (pred - ref)**2
    if weight is not None:
        if weight.shape == pred.shape[:1]:
            weight = weight[:, None]
        elif weight.shape != pred.shape:
            raise ValueError(f'weight must have shape {tuple(pred.shape)} or '
                             f'{tuple(pred.shape[:1])}, got '
                             f'{tuple(weight.shape)}')
        sq_error = sq_error * weight
    return sq_error.sum(dim=1)


def teacher_bounded_reg_loss(student_reg: Tensor,
                             teacher_reg: Tensor,
                             target: Tensor,
                             *,
                             weight: Optional[Tensor] = None,
                             margin: float = 0.0) -> Tensor:
    """Per-sample teacher-bounded L2 regression loss.

    ``e_s = sum_j w (s - y)**2``, ``e_t = sum_j w (t - y)**2``; the value is
    ``e_s`` where ``e_s + margin > e_t`` and ``0`` elsewhere (a tie with
    ``margin=0`` gives ``0``). The teacher is detached; the gradient is
    ``2 w (s - y)`` on kept samples and zero on the others.

    Args:
        student_reg (Tensor): ``(num_samples, 4)`` student box deltas.
        teacher_reg (Tensor): ``(num_samples, 4)`` teacher box deltas.
        target (Tensor): ``(num_samples, 4)`` regression targets.
        weight (Tensor, optional): ``(num_samples,)`` or
            ``(num_samples, 4)``, elementwise on the squared errors.
        margin (float): The margin ``m``.

    Returns:
        Tensor: ``(num_samples,)`` per-sample losses.
    """
    _check_shapes(student_reg, teacher_reg, target)
    target = target.detach()
    e_s = _weighted_sq_error(student_reg, target, weight)
    e_t = _weighted_sq_error(teacher_reg.detach(), target, weight)
    keep = e_s + margin > e_t
    return e_s.where(keep, e_s.new_zeros(()))


def l2_reg_distill_loss(student_reg: Tensor,
                        teacher_reg: Tensor,
                        *,
                        weight: Optional[Tensor] = None) -> Tensor:
    """Per-sample L2 regression towards the teacher, ``sum_j w (s - t)**2``.

    Unbounded; the teacher is detached.

    Args:
        student_reg (Tensor): ``(num_samples, 4)`` student box deltas.
        teacher_reg (Tensor): ``(num_samples, 4)`` teacher box deltas.
        weight (Tensor, optional): ``(num_samples,)`` or
            ``(num_samples, 4)``, elementwise on the squared errors.

    Returns:
        Tensor: ``(num_samples,)`` per-sample losses.
    """
    _check_shapes(student_reg, teacher_reg)
    return _weighted_sq_error(student_reg, teacher_reg.detach(), weight)


@MODELS.register_module()
class TeacherBoundedRegLoss(nn.Module):
    """Teacher-bounded regression loss ``L_b`` (Chen et al., NIPS 2017).

    ``L_b = ||R_s - y||^2 if ||R_s - y||^2 + m > ||R_t - y||^2 else 0``,
    decided per sample.

    Args:
        margin (float): The margin ``m`` (not pinned by the paper), >= 0.
            Defaults to 0.0.
        loss_weight (float): Scale of the loss, the paper's
            ``nu = 0.5``; >= 0. Defaults to 0.5.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.

    Computed in float32 (or float64) whatever the inputs' precision.
    """

    def __init__(self,
                 margin: float = 0.0,
                 loss_weight: float = 0.5,
                 reduction: str = 'mean') -> None:
        super().__init__()
        # m >= 0: the student is left alone only where it beats the teacher
        # by more than m; m < 0 would also spare it where it is worse than
        # the teacher, which is no longer a bound by the teacher.
        self.margin = check_min(
            'TeacherBoundedRegLoss',
            'margin',
            margin,
            0,
            meaning='the margin m of e_s + m > e_t')
        self.loss_weight = check_min('TeacherBoundedRegLoss', 'loss_weight',
                                     loss_weight, 0)
        self.reduction = check_reduction(reduction)

    def forward(self,
                student_reg: Tensor,
                teacher_reg: Tensor,
                target: Tensor,
                *,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            student_reg (Tensor): ``(num_samples, 4)``.
            teacher_reg (Tensor): ``(num_samples, 4)``; gets no gradient.
            target (Tensor): ``(num_samples, 4)`` regression targets.
            weight (Tensor, optional): ``(num_samples,)`` or
                ``(num_samples, 4)``, elementwise on the squared errors
                (it enters both ``e_s`` and ``e_t``).
            avg_factor (float | Tensor, optional): Denominator of ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: A scalar, or ``(num_samples,)`` for ``'none'``.
        """
        reduction = check_reduction(reduction_override or self.reduction)
        student_reg, teacher_reg, target = fp32(student_reg, teacher_reg,
                                                target)
        with no_autocast(student_reg):
            values = teacher_bounded_reg_loss(
                student_reg,
                teacher_reg,
                target,
                weight=weight,
                margin=self.margin)
            return reduce_values(
                values,
                student_reg,
                reduction=reduction,
                avg_factor=avg_factor,
                loss_weight=self.loss_weight)


@MODELS.register_module()
class L2RegDistillLoss(nn.Module):
    """Plain L2 regression towards the teacher, ``||R_s - R_t||^2``.

    The ablation baseline for ``TeacherBoundedRegLoss``. ``forward`` takes
    the same arguments, so one can replace the other in a config; the
    ``target`` is accepted and ignored.

    Args:
        loss_weight (float): Scale of the loss, >= 0. Defaults to 0.5.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
    """

    def __init__(self,
                 loss_weight: float = 0.5,
                 reduction: str = 'mean') -> None:
        super().__init__()
        self.loss_weight = check_min('L2RegDistillLoss', 'loss_weight',
                                     loss_weight, 0)
        self.reduction = check_reduction(reduction)

    def forward(self,
                student_reg: Tensor,
                teacher_reg: Tensor,
                target: Optional[Tensor] = None,
                *,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            student_reg (Tensor): ``(num_samples, 4)``.
            teacher_reg (Tensor): ``(num_samples, 4)``; gets no gradient.
            target (Tensor, optional): Ignored (signature parity with
                ``TeacherBoundedRegLoss``).
            weight (Tensor, optional): ``(num_samples,)`` or
                ``(num_samples, 4)``, elementwise on the squared errors.
            avg_factor (float | Tensor, optional): Denominator of ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: A scalar, or ``(num_samples,)`` for ``'none'``.
        """
        reduction = check_reduction(reduction_override or self.reduction)
        student_reg, teacher_reg = fp32(student_reg, teacher_reg)
        with no_autocast(student_reg):
            values = l2_reg_distill_loss(
                student_reg, teacher_reg, weight=weight)
            return reduce_values(
                values,
                student_reg,
                reduction=reduction,
                avg_factor=avg_factor,
                loss_weight=self.loss_weight)
