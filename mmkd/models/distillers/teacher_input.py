"""What the teacher sees: its own normalisation, input scale and precision.

The batch arrives normalised (and padded) by the student's data
preprocessor. When the teacher was trained with another mean / std /
channel order, the batch is mapped back to pixels and normalised the
teacher's way, and the batch padding gets the teacher's pad value.

A teacher that works at a higher resolution than the student (the paper's
half-resolution student) sees the **real** full-resolution image: the data
pipeline loads the image at the teacher's size, keeps it for the teacher
and gives the student an antialiased downscaled copy
(``mmkd.datasets.transforms.StudentDownscale`` and ``PackDistillInputs``).
The student's input is never upsampled for the teacher. The teacher batch
is ``teacher_input_scale`` times the student's padded batch, so the two
hint maps cover the same area, and each image's RoIs are scaled by its own
teacher / student size ratio.

Everything the teacher returns is float32, whatever precision it ran in.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmkd.utils.errors import ConfigError


def _pixel_space(pre: nn.Module) -> tuple:
    """``(mean, std, flip)`` of a data preprocessor: pixels -> input is
    ``(flip(pixels) - mean) / std`` (mean 0, std 1 when it does not
    normalise)."""
    if getattr(pre, '_enable_normalize', False):
        mean = pre.mean.detach().clone().float().view(-1, 1, 1)
        std = pre.std.detach().clone().float().view(-1, 1, 1)
    else:
        mean, std = torch.zeros(1, 1, 1), torch.ones(1, 1, 1)
    return mean, std, bool(getattr(pre, '_channel_conversion', False))


def _same_space(a: tuple, b: tuple) -> bool:
    return (a[2] == b[2] and a[0].shape == b[0].shape
            and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]))


class TeacherInput:
    """Adapts the student's batch and RoIs to the teacher.

    Args:
        student_pre, teacher_pre: the two data preprocessors.
        scale (float): the teacher's input size over the student's (the
            pipeline's full-resolution images must agree with it).
        autocast (str, optional): ``'bfloat16'`` / ``'float16'`` to run the
            teacher in reduced precision; None runs it in the precision of
            the surrounding code.
    """

    def __init__(self,
                 student_pre: nn.Module,
                 teacher_pre: nn.Module,
                 *,
                 scale: float = 1.0,
                 autocast: Optional[str] = None) -> None:
        if not scale > 0:
            raise ConfigError(f'teacher_input_scale={scale} must be > 0')
        if autocast not in (None, 'bfloat16', 'float16'):
            raise ConfigError(f"teacher_autocast={autocast!r}; use None, "
                              "'bfloat16' or 'float16'")
        self.scale = float(scale)
        self.dtype = getattr(torch, autocast) if autocast else None
        self.student_space = _pixel_space(student_pre)
        self.teacher_space = _pixel_space(teacher_pre)
        self.renorm = not _same_space(self.student_space, self.teacher_space)
        self.pad_value = float(getattr(teacher_pre, 'pad_value', 0))
        self.pad_divisor = int(getattr(teacher_pre, 'pad_size_divisor', 1))

    # ------------------------------------------------------------- images
    def images(self,
               batch_inputs: Tensor,
               batch_data_samples: Optional[Sequence] = None) -> Tensor:
        """The batch as the teacher expects it, ``(N, 3, H', W')``.

        Samples that carry ``teacher_img`` (the pipeline's full-resolution
        image, ``(3, h', w')`` pixels) give the teacher those images;
        otherwise the student's batch is renormalised, which needs
        ``scale == 1``.
        """
        samples = list(batch_data_samples or [])
        if samples and all('teacher_img' in s for s in samples):
            return self._full_resolution(batch_inputs, samples)
        if self.scale != 1.0:
            raise ConfigError(
                f'teacher_input_scale={self.scale:g} needs the teacher\'s '
                'full-resolution images from the data pipeline, and the '
                'batch has none: load the image at the teacher\'s size and '
                "add dict(type='StudentDownscale', scale_factor="
                f"{1 / self.scale:g}) after Resize and "
                "dict(type='PackDistillInputs') instead of PackDetInputs to "
                'the training pipeline (the student\'s input is never '
                'upsampled for the teacher)')
        if not self.renorm:
            return batch_inputs
        x = self._to_teacher_space(batch_inputs)
        for i, sample in enumerate(samples):  # the teacher's padding
            h, w = sample.metainfo['img_shape'][:2]
            x[i, :, h:, :] = self.pad_value
            x[i, :, :, w:] = self.pad_value
        return x

    def _to_teacher_space(self, x: Tensor) -> Tensor:
        s_mean, s_std, s_flip = self.student_space
        t_mean, t_std, t_flip = self.teacher_space
        x = x * s_std.to(x) + s_mean.to(x)  # the pipeline's pixels
        if s_flip != t_flip:
            x = x.flip(1)
        return (x - t_mean.to(x)) / t_std.to(x)

    def _normalise(self, pixels: Tensor) -> Tensor:
        """``(3, h, w)`` pipeline pixels -> the teacher's input space."""
        mean, std, flip = self.teacher_space
        x = pixels.float()
        if flip:
            x = x.flip(0)
        return (x - mean.to(x)) / std.to(x)

    def _full_resolution(self, batch_inputs: Tensor, samples: list) -> Tensor:
        """The samples' ``teacher_img`` normalised and padded into a batch
        ``scale`` times the student's."""
        imgs = [s.teacher_img for s in samples]
        for img, sample in zip(imgs, samples):
            self._check_ratio(img.shape[-2:], sample.metainfo['img_shape'])
        size = [
            max(
                math.ceil(side * self.scale - 1e-6),
                max(img.shape[dim] for img in imgs))
            for dim, side in zip((-2, -1), batch_inputs.shape[-2:])
        ]
        size = [
            math.ceil(s / self.pad_divisor) * self.pad_divisor for s in size
        ]
        batch = batch_inputs.new_full((len(imgs), 3, *size), self.pad_value)
        for i, img in enumerate(imgs):
            h, w = img.shape[-2:]
            batch[i, :, :h, :w] = self._normalise(img.to(batch.device))
        return batch

    def _check_ratio(self, teacher_hw: tuple, student_hw: tuple) -> None:
        for t_side, s_side in zip(teacher_hw, student_hw[:2]):
            if abs(t_side - self.scale * s_side) > self.scale:
                raise ConfigError(
                    f'the pipeline gives the teacher a {tuple(teacher_hw)} '
                    f'image for a {tuple(student_hw[:2])} student image, '
                    f'but model.teacher_input_scale={self.scale:g}; make '
                    "StudentDownscale's scale_factor 1 / "
                    'teacher_input_scale')

    # --------------------------------------------------------------- RoIs
    def roi_scales(self, samples: Optional[Sequence], num: int,
                   device: torch.device) -> Tensor:
        """``(num, 2)``: each image's teacher / student ``(w, h)`` ratio
        (its ``teacher_scale_factor``, else ``scale``)."""
        factors = [
            s.metainfo.get('teacher_scale_factor', (self.scale, self.scale))
            for s in (samples or [])
        ] or [(self.scale, self.scale)] * num
        return torch.tensor(factors, dtype=torch.float32, device=device)

    # ---------------------------------------------------------- execution
    def run(self, module, *args):
        """``module(*args)`` without grad, in the teacher's precision; float
        tensors come back in fp32."""
        with torch.no_grad():
            if self.dtype is None:
                return _to_float(module(*args))
            tensor = args[0] if isinstance(args[0], Tensor) else args[0][0]
            with torch.autocast(
                    device_type=tensor.device.type, dtype=self.dtype):
                out = module(*args)
        return _to_float(out)

    def extract_feat(
            self,
            teacher: nn.Module,
            batch_inputs: Tensor,
            batch_data_samples: Optional[Sequence] = None) -> Tuple[Tensor]:
        return self.run(teacher.extract_feat,
                        self.images(batch_inputs, batch_data_samples))

    def rois(self,
             rois: Tensor,
             batch_data_samples: Optional[Sequence] = None) -> Tensor:
        """The student's ``(n, 5)`` RoIs on the teacher's image: each scaled
        by its image's teacher / student size ratio."""
        scales = self.roi_scales(
            batch_data_samples,
            int(rois[:, 0].max().item()) + 1 if len(rois) else 1, rois.device)
        if bool((scales == 1).all()):
            return rois
        factor = scales[rois[:, 0].long()].repeat(1, 2).to(rois.dtype)
        return torch.cat([rois[:, :1], rois[:, 1:] * factor], dim=1)

    def metas(self, batch_data_samples: Sequence) -> List[dict]:
        """Each image's ``img_shape`` on the teacher's image (the bounds of
        the boxes a cascade teacher regresses)."""
        scales = self.roi_scales(batch_data_samples, len(batch_data_samples),
                                 torch.device('cpu')).tolist()
        return [
            dict(
                img_shape=(round(s.metainfo['img_shape'][0] * sy),
                           round(s.metainfo['img_shape'][1] * sx)))
            for s, (sx, sy) in zip(batch_data_samples, scales)
        ]


def _to_float(out):
    if isinstance(out, Tensor):
        reduced = out.dtype in (torch.float16, torch.bfloat16)
        return out.float() if reduced else out
    if isinstance(out, (list, tuple)):
        return type(out)(_to_float(o) for o in out)
    if isinstance(out, dict):
        return {k: _to_float(v) for k, v in out.items()}
    return out
