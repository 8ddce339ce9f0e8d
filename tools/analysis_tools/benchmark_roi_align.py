"""Where SeparableRoIAlign is faster than mmcv's RoIAlign: forward and
backward of both on the same maps and RoIs, round by round.

    python tools/analysis_tools/benchmark_roi_align.py \
        [--sizes 16 32 64 96 128] [--channels 64] [--rois 512] \
        [--images 8] [--iters 5]

Each size is a square map of SIZE x SIZE cells (stride 4 of an image 4 x
SIZE px wide) with RoIs of 4 to 40 % of the image side, pooled to 7 x 7
with mmcv's adaptive sampling; prints the median milliseconds of each and
their ratio. ``SeparableRoIAlign`` computes as matrices up to
``mmkd.ops.roi_align.MAX_CELLS`` positions and calls mmcv's kernel above.
"""
import argparse
import statistics
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--sizes', type=int, nargs='+', default=[16, 32, 64, 96, 128])
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--rois', type=int, default=512)
    parser.add_argument('--images', type=int, default=8)
    parser.add_argument('--iters', type=int, default=5)
    return parser.parse_args(argv)


def _rois(num, images, side, generator):
    import torch
    xy = torch.rand(num, 2, generator=generator) * side * 0.6
    wh = side * (0.04 + 0.36 * torch.rand(num, 2, generator=generator))
    idx = torch.randint(0, images, (num, 1), generator=generator).float()
    return torch.cat([idx, xy, xy + wh], dim=1)


def measure(size, channels, rois, images, iters):
    """Median ms of forward + backward: ``(mmcv, separable)``."""
    import torch
    from mmcv.ops import roi_align

    from mmkd.ops import roi_align_separable
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(images, channels, size, size, generator=gen)
    feats.requires_grad_(True)
    boxes = _rois(rois, images, 4 * size, gen)
    grad = torch.randn(rois, channels, 7, 7, generator=gen)
    ops = dict(
        mmcv=lambda: roi_align(feats, boxes, (7, 7), 0.25, 0, 'avg', True),
        separable=lambda: roi_align_separable(feats, boxes, (7, 7), 0.25))
    times = {name: [] for name in ops}
    for i in range(iters + 1):  # the first round warms up
        for name, op in ops.items():
            start = time.perf_counter()
            (op() * grad).sum().backward()
            feats.grad = None
            if i:
                times[name].append(1000 * (time.perf_counter() - start))
    return statistics.median(times['mmcv']), statistics.median(
        times['separable'])


def main(argv=None):
    import torch

    from mmkd.ops.roi_align import MAX_CELLS
    args = parse_args(argv)
    print(f'{args.rois} RoIs over {args.images} images, {args.channels} '
          f'channels, {torch.get_num_threads()} threads; SeparableRoIAlign '
          f'computes as matrices up to {MAX_CELLS} cells')
    print('| map | mmcv ms | separable ms | separable / mmcv |')
    print('|---|---:|---:|---:|')
    for size in args.sizes:
        mmcv_ms, sep_ms = measure(size, args.channels, args.rois, args.images,
                                  args.iters)
        print(f'| {size} x {size} | {mmcv_ms:.1f} | {sep_ms:.1f} | '
              f'{sep_ms / mmcv_ms:.2f} |')


if __name__ == '__main__':
    main()
