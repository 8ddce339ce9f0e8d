"""A high-resolution teacher's image and its student's downscaled copy.

The paper's half-resolution student (Chen et al., NIPS 2017) learns from a
teacher that sees the real full-resolution image. The pipeline loads and
resizes the image once, at the teacher's scale; ``StudentDownscale`` keeps
that image for the teacher and gives the student a copy downscaled with
area interpolation (antialiased: each student pixel is the mean of the
teacher pixels it covers), scaling the boxes with it;
``PackDistillInputs`` packs both. Example (teacher at shorter side 600,
student at 300)::

    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),            # flips both
    dict(type='StudentDownscale', scale_factor=0.5),
    dict(type='PackDistillInputs')
"""
from typing import Optional

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import PackDetInputs

from mmkd.registry import TRANSFORMS
from mmkd.utils.errors import ConfigError

META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'teacher_scale_factor')


@TRANSFORMS.register_module()
class StudentDownscale(BaseTransform):
    """The image at ``scale_factor`` for the student; the full image kept
    as ``teacher_img`` for the teacher.

    Updates ``img``, ``img_shape``, ``scale_factor`` (composed with the
    earlier resize, so predictions map back to the original image),
    ``gt_bboxes`` (clipped to the new size), ``gt_masks`` and
    ``homography_matrix`` when present; adds ``teacher_scale_factor``
    ``(w, h)``, the teacher's pixels per student pixel, by which the
    distiller scales the student's RoIs for the teacher.

    Args:
        scale_factor (float): the student's size over the teacher's, in
            (0, 1]. 0.5 for the paper's half-resolution student.
        keep_teacher_img (bool): keep the full image as ``teacher_img``
            (training); False in test pipelines, where only the student
            runs. Defaults to True.
        interpolation (str): ``'area'`` (default, antialiased) or another
            ``mmcv.imresize`` interpolation.
    """

    def __init__(self,
                 scale_factor: float = 0.5,
                 keep_teacher_img: bool = True,
                 interpolation: str = 'area') -> None:
        if not 0 < scale_factor <= 1:
            raise ConfigError(
                f'StudentDownscale: scale_factor={scale_factor!r} must be in '
                '(0, 1] (the student\'s size over the teacher\'s)')
        self.scale_factor = float(scale_factor)
        self.keep_teacher_img = keep_teacher_img
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        new_w = max(1, int(w * self.scale_factor + 0.5))
        new_h = max(1, int(h * self.scale_factor + 0.5))
        if self.keep_teacher_img:
            results['teacher_img'] = img
        results['img'] = mmcv.imresize(
            img, (new_w, new_h), interpolation=self.interpolation)
        results['img_shape'] = (new_h, new_w)
        rw, rh = new_w / w, new_h / h
        old = results.get('scale_factor', (1.0, 1.0))
        results['scale_factor'] = (old[0] * rw, old[1] * rh)
        results['teacher_scale_factor'] = (w / new_w, h / new_h)
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].rescale_([rw, rh])
            results['gt_bboxes'].clip_((new_h, new_w))
        if results.get('gt_masks') is not None:
            results['gt_masks'] = results['gt_masks'].resize((new_h, new_w))
        if results.get('homography_matrix') is not None:
            scale = np.diag([rw, rh, 1.0]).astype(np.float32)
            results['homography_matrix'] = scale @ results['homography_matrix']
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale_factor={self.scale_factor}, '
                f'keep_teacher_img={self.keep_teacher_img}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class PackDistillInputs(PackDetInputs):
    """``PackDetInputs`` that also packs ``teacher_img`` (``(3, H, W)``
    uint8, the pipeline's channel order) into the data sample, and
    ``teacher_scale_factor`` into its metainfo."""

    def __init__(self, meta_keys: Optional[tuple] = META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        img = results.get('teacher_img')
        if img is not None:
            if img.ndim < 3:
                img = img[..., None]
            packed['data_samples'].teacher_img = torch.from_numpy(
                np.ascontiguousarray(img.transpose(2, 0, 1)))
        return packed
