"""RoIAlign as two interpolation matrices: mmcv's numbers, faster on small
CPU feature maps.

mmcv's ``RoIAlign`` (``pool_mode='avg'``) averages, for every RoI, channel
and output bin, the bilinear interpolation of the feature map at a grid of
sample points. The sample points of a bin lie on a grid of rows and
columns, and the bilinear weights of a point factor into a row weight and a
column weight, so for one RoI the whole operation is linear and separable::

    out[c] = A_y @ F[c] @ A_x^T        A_y: (P, H), A_x: (Q, W)

where ``A_y[p, i]`` is the mean, over the bin's sample rows, of the
bilinear weight that row ``i`` gets (mmcv's border rules included: a sample
more than one cell outside the map contributes nothing, one inside that
cell is clamped to the edge). Both matrices are built for all RoIs at once
and applied as two matrix products, whose backward pass autograd derives;
mmcv's CPU kernel loops over RoIs, channels and samples one at a time, and
its backward pass is the larger part of a small detector's RoI head on the
CPU (``tools/analysis_tools/benchmark_roi_align.py`` measures both).

The products cost ``O(RoIs x C x P x H x W)``: cheap for the small maps of
128-px images, expensive for the stride-4 map of an 800-px image.
``SeparableRoIAlign`` therefore computes this way only on the CPU and for
maps of at most ``max_cells`` positions, and calls mmcv's kernel otherwise.
"""
from typing import Tuple

import torch
from mmcv.ops import RoIAlign
from torch import Tensor

from mmkd.registry import MODELS

# The largest map (H * W) computed as matrices. Time does not set it: on
# 64-channel maps with 512 RoIs over 8 images, forward and backward on 2
# threads, the matrices take 0.24-0.36x mmcv's time from 16 x 16 up to
# 256 x 256 (benchmark_roi_align.py --sizes 16 32 64 96 128 192 256).
# Memory does: the product by rows, kept for the backward, holds
# RoIs x 7 x C x W numbers per image (at 64 x 64, 512 RoIs and 256 channels
# 59M, 235 MB), where mmcv's kernel holds none. 64 x 64 covers the FPN
# levels of images up to 256 px (the demo's largest is 32 x 32); larger
# maps go to mmcv's kernel.
MAX_CELLS = 64 * 64


def _axis_weights(start: Tensor, length: Tensor, pooled: int, size: int,
                  sampling_ratio: int) -> Tensor:
    """``(R, pooled, size)``: the mean bilinear weight each of ``size``
    rows (or columns) gets from the samples of each of ``pooled`` bins,
    with mmcv's sample positions and border rules."""
    dtype = start.dtype
    bin_size = length / pooled
    if sampling_ratio > 0:
        grid = torch.full_like(length, float(sampling_ratio))
    else:  # mmcv: ceil(roi_size / pooled) samples per bin, per RoI
        grid = torch.ceil(length / pooled)
    num = max(int(grid.max().item()) if grid.numel() else 1, 1)
    bins = torch.arange(pooled, dtype=dtype, device=start.device)
    steps = torch.arange(num, dtype=dtype, device=start.device)
    # mmcv: start + p * bin + (k + 0.5) * bin / grid, in this order
    coord = (start[:, None, None] + bins[None, :, None] * bin_size[:, None,
                                                                   None]
             ) + (steps[None, None, :] + 0.5) * bin_size[:, None, None] / \
        grid.clamp(min=1)[:, None, None]
    used = steps[None, None, :] < grid[:, None, None]
    inside = (coord >= -1.0) & (coord <= size) & used
    coord = coord.clamp(min=0)
    low = coord.floor().long()
    at_end = low >= size - 1
    low = torch.where(at_end, torch.full_like(low, size - 1), low)
    high = torch.where(at_end, low, low + 1)
    coord = torch.where(at_end, low.to(dtype), coord)
    frac = (coord - low.to(dtype)) * inside
    rest = (1.0 - (coord - low.to(dtype))) * inside
    weights = start.new_zeros(start.numel(), pooled, size)
    count = grid.clamp(min=1)[:, None, None]
    weights.scatter_add_(2, low, rest / count)
    weights.scatter_add_(2, high, frac / count)
    return weights


def roi_align_separable(feats: Tensor,
                        rois: Tensor,
                        output_size: Tuple[int, int],
                        spatial_scale: float = 1.0,
                        sampling_ratio: int = 0,
                        aligned: bool = True) -> Tensor:
    """mmcv's ``roi_align`` (average pooling) as matrix products.

    Args:
        feats (Tensor): ``(N, C, H, W)``.
        rois (Tensor): ``(R, 5)``: image index, x1, y1, x2, y2 in image
            coordinates (``spatial_scale`` maps them onto ``feats``).
        output_size (tuple[int, int]): ``(P, Q)`` bins.
        spatial_scale (float): feature cells per image pixel.
        sampling_ratio (int): samples per bin and axis; 0 for mmcv's
            adaptive ``ceil(roi_size / bins)``.
        aligned (bool): mmcv's pixel model (shift by half a cell).

    Returns:
        Tensor: ``(R, C, P, Q)``. Gradients reach ``feats``, not ``rois``.
    """
    num, channels, height, width = feats.shape
    pooled_h, pooled_w = output_size
    boxes = rois[:, 1:].detach().to(feats.dtype) * spatial_scale
    if aligned:
        boxes = boxes - 0.5
    box_w = boxes[:, 2] - boxes[:, 0]
    box_h = boxes[:, 3] - boxes[:, 1]
    if not aligned:  # mmcv's legacy mode: at least one cell
        box_w, box_h = box_w.clamp(min=1.0), box_h.clamp(min=1.0)
    rows = _axis_weights(boxes[:, 1], box_h, pooled_h, height, sampling_ratio)
    cols = _axis_weights(boxes[:, 0], box_w, pooled_w, width, sampling_ratio)
    if rois.size(0) == 0:
        return feats.new_zeros(0, channels, pooled_h, pooled_w) + \
            feats.sum() * 0
    # The RoIs of one image at a time, in image order: out = A_y F A_x^T,
    # in the features' precision (as mmcv's kernel, also under autocast).
    with torch.autocast(feats.device.type, enabled=False):
        return _pooled(feats, rows.to(feats.dtype), cols.to(feats.dtype),
                       rois[:, 0].long())


def _pooled(feats: Tensor, rows: Tensor, cols: Tensor,
            index: Tensor) -> Tensor:
    num = feats.size(0)
    order = torch.argsort(index, stable=True)
    rows, cols = rows[order], cols[order]
    pooled, start = [], 0
    channels, height, width = feats.shape[1:]
    pooled_h, pooled_w = rows.size(1), cols.size(1)
    for img, count in enumerate(torch.bincount(index, minlength=num).tolist()):
        if count:
            end = start + count
            # (r * P, H) @ (H, C * W): every RoI's rows in one product,
            # then (r, P * C, W) @ (r, W, Q): each RoI's columns
            by_rows = rows[start:end].reshape(
                -1, height) @ feats[img].transpose(0, 1).reshape(
                    height, channels * width)
            out = by_rows.view(count, pooled_h * channels,
                               width) @ cols[start:end].transpose(1, 2)
            pooled.append(
                out.view(count, pooled_h, channels, pooled_w).transpose(1, 2))
            start = end
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel(), device=order.device)
    return torch.cat(pooled)[inverse]


@MODELS.register_module()
class SeparableRoIAlign(RoIAlign):
    """mmcv's ``RoIAlign`` computed by :func:`roi_align_separable` on the
    CPU for maps of at most ``max_cells`` positions (average pooling), and
    by mmcv's kernel otherwise. The same arguments as mmcv's, and the same
    numbers (to float rounding), for maps in any memory format (mmcv's
    kernel alone reads a channels-last map wrongly).

    Args:
        max_cells (int): the largest ``H * W`` computed as matrices.
    """

    # ChannelsLastHook: correct for maps in any memory format
    layout_free = True

    def __init__(self, *args, max_cells: int = MAX_CELLS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_cells = max_cells

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        small = input.shape[-2] * input.shape[-1] <= self.max_cells
        if (input.device.type != 'cpu' or not small or self.pool_mode != 'avg'
                or self.use_torchvision):
            # mmcv's kernels read the map's memory as contiguous
            return super().forward(input.contiguous(), rois)
        return roi_align_separable(input, rois, self.output_size,
                                   self.spatial_scale, self.sampling_ratio,
                                   self.aligned)
