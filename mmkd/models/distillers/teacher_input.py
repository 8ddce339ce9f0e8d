"""What the teacher sees: its own normalisation, input scale and precision.

The batch arrives normalised by the student's data preprocessor. When the
teacher was trained with another mean / std / channel order, the batch is
mapped back to pixels and normalised the teacher's way; when the teacher
works at a higher resolution (the paper's half-resolution student), the
batch is resized and the student's RoIs are scaled to match.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _norm_params(preprocessor: nn.Module) -> Optional[tuple]:
    if not getattr(preprocessor, '_enable_normalize', False):
        return None
    return (preprocessor.mean.detach().clone(),
            preprocessor.std.detach().clone(),
            bool(getattr(preprocessor, '_channel_conversion', False)))


class TeacherInput:
    """Adapts the student's batch and RoIs to the teacher.

    Args:
        student_pre, teacher_pre: the two data preprocessors.
        scale (float): the teacher's input size over the student's.
        autocast (str, optional): ``'bfloat16'`` / ``'float16'`` to run the
            teacher in reduced precision.
    """

    def __init__(self,
                 student_pre: nn.Module,
                 teacher_pre: nn.Module,
                 *,
                 scale: float = 1.0,
                 autocast: Optional[str] = None) -> None:
        if scale <= 0:
            raise ValueError(f'teacher_input_scale={scale} must be > 0')
        if autocast not in (None, 'bfloat16', 'float16'):
            raise ValueError(f"teacher_autocast={autocast!r}; use None, "
                             "'bfloat16' or 'float16'")
        self.scale = float(scale)
        self.dtype = getattr(torch, autocast) if autocast else None
        s_norm, t_norm = _norm_params(student_pre), _norm_params(teacher_pre)
        self.renorm = None
        if s_norm is not None and t_norm is not None and not (torch.equal(
                s_norm[0], t_norm[0]) and torch.equal(
                    s_norm[1], t_norm[1]) and s_norm[2] == t_norm[2]):
            self.renorm = (s_norm, t_norm)

    def images(self, batch_inputs: Tensor) -> Tensor:
        """The batch as the teacher expects it, ``(N, 3, H', W')``."""
        x = batch_inputs
        if self.renorm is not None:
            (s_mean, s_std, s_flip), (t_mean, t_std, t_flip) = self.renorm
            x = x * s_std.to(x) + s_mean.to(x)
            if s_flip != t_flip:
                x = x.flip(1)
            x = (x - t_mean.to(x)) / t_std.to(x)
        if self.scale != 1.0:
            x = F.interpolate(
                x,
                scale_factor=self.scale,
                mode='bilinear',
                align_corners=False)
        return x

    def run(self, module, *args):
        """``module(*args)`` without grad, in the teacher's precision; float
        tensors come back in fp32."""
        with torch.no_grad():
            if self.dtype is None:
                return module(*args)
            tensor = args[0] if isinstance(args[0], Tensor) else args[0][0]
            with torch.autocast(
                    device_type=tensor.device.type, dtype=self.dtype):
                out = module(*args)
        return _to_float(out)

    def extract_feat(self, teacher: nn.Module,
                     batch_inputs: Tensor) -> Tuple[Tensor]:
        return self.run(teacher.extract_feat, self.images(batch_inputs))

    def run_roi_head(self, roi_head: nn.Module, feats: Tuple[Tensor],
                     rois: Tensor) -> dict:
        """The teacher's RoI head on the student's RoIs (rescaled)."""
        if self.scale != 1.0:
            rois = torch.cat([rois[:, :1], rois[:, 1:] * self.scale], dim=1)
        return self.run(roi_head._bbox_forward, feats, rois)


def _to_float(out):
    if isinstance(out, Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, (list, tuple)):
        return type(out)(_to_float(o) for o in out)
    if isinstance(out, dict):
        return {k: _to_float(v) for k, v in out.items()}
    return out
