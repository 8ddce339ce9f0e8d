"""Inference speed of a detector, or of the student of a distillation config.

    python tools/analysis_tools/benchmark.py CONFIG [CHECKPOINT] \
        [--shape H W] [--images N] [--warmup N] \
        [--compare CONFIG2 [CHECKPOINT2]] [--cfg-options k=v ...]

Times ``model.test_step`` (preprocessing, forward and post-processing, as
``tools/test.py`` runs it) one image at a time: ``--warmup`` images untimed,
then ``--images`` timed ones; prints ms/image and images/s. The inputs are
the config's test images (through its test pipeline) when its dataset is on
disk, otherwise random images of the test pipeline's size (600 x 1000 for
the paper's configs); ``--shape`` always uses random ``H x W`` images.
Without a checkpoint the weights are random. The trunk's speed is then the
same, but a random RPN keeps few proposals after NMS, so the RoI head does
less work than a trained detector's: ``--proposals N`` switches the RPN's
test-time NMS off and keeps exactly N proposals per image (e.g. 300, the
Faster R-CNN papers' test setting), for every model of the run.

``--compare`` benchmarks a second config (e.g. the teacher) in the same run:
the two models alternate image by image, so that both see the same inputs
and the same machine load, and the ratio of their times is printed.
``--cfg-options`` applies to both configs.
"""
import argparse
import os.path as osp
import statistics

import torch
from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detector or distillation config')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint (optional)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='random H x W inputs (default: the test set, '
        'or random images of the test pipeline size)')
    parser.add_argument(
        '--images', type=int, default=10, help='timed images per model')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed images per model first')
    parser.add_argument(
        '--compare',
        nargs='+',
        metavar=('CONFIG2', 'CHECKPOINT2'),
        help='a second config (and checkpoint) to compare')
    parser.add_argument(
        '--proposals',
        type=int,
        help='exactly N RPN proposals per image (NMS off)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='key=value overrides of both configs')
    args = parser.parse_args(argv)
    if args.compare and len(args.compare) > 2:
        parser.error('--compare takes CONFIG2 and an optional CHECKPOINT2, '
                     f'got {len(args.compare)} values')
    if args.images < 1 or args.warmup < 0:
        parser.error('--images must be >= 1 and --warmup >= 0')
    return args


def fix_proposals(cfg, num):
    """Keep exactly ``num`` RPN proposals: no NMS (no IoU exceeds 1)."""
    from mmkd.models.distillers.export import is_distiller
    model = cfg.model.student if is_distiller(cfg.model) else cfg.model
    rpn = model.test_cfg.rpn
    rpn.nms_pre = max(rpn.get('nms_pre', num), num)
    rpn.max_per_img = num
    rpn.nms.iou_threshold = 1.0


def load_model(config, checkpoint, args):
    """The config and its deployed detector (eval mode, on CPU)."""
    from mmkd.analysis.speed import build_deployed
    from mmkd.engine.config_check import load_config
    cfg = load_config(config, args.cfg_options)
    if args.proposals:
        fix_proposals(cfg, args.proposals)
    return cfg, build_deployed(cfg, checkpoint)


def make_inputs(cfg, args):
    """One-image batches for ``--warmup + --images`` steps, and a note."""
    from mmkd.analysis.inputs import (dataset_batches, pipeline_shape,
                                      random_batches)
    num = args.warmup + args.images
    if args.shape is None:
        batches, reason = dataset_batches(cfg, num)
        if batches is not None:
            return batches, 'test images'
        shape = pipeline_shape(cfg)
        note = f'no test set: {reason[:120]}'
    else:
        shape, note = tuple(args.shape), '--shape'
    return (random_batches(shape, num),
            f'random {shape[0]}x{shape[1]} images ({note})')


def measure(models, inputs, warmup):
    """ms per image of each model, alternating models image by image.

    Args:
        models (list[nn.Module]): Detectors.
        inputs (list[list[dict]]): Batches of each model.
        warmup (int): Leading batches that are run but not timed.

    Returns:
        list[list[float]]: ms of every timed image, per model.
    """
    from mmkd.analysis.speed import time_inference
    times = [[] for _ in models]
    for step in range(len(inputs[0])):
        order = list(range(len(models)))
        if step % 2:
            order.reverse()  # neither model always runs first
        for i in order:
            ms = time_inference(
                models[i], [inputs[i][step]], warmup=0)['ms_per_image']
            if step >= warmup:
                times[i].append(ms)
    return times


def summarise(name, model, ms):
    """Parameters, mean / median ms per image and images/s of a model."""
    from mmkd.analysis.speed import count_parameters
    mean = statistics.fmean(ms)
    return dict(
        name=name,
        params=count_parameters(model),
        ms=mean,
        median_ms=statistics.median(ms),
        images_per_s=1000.0 / mean)


def print_table(rows, notes, threads):
    """Print the inputs, one row per model and the time ratio."""
    print(f'torch threads: {threads}')
    for row, note in zip(rows, notes):
        print(f"{row['name']}: {note}")
    print(f"{'model':<40}{'params':>10}{'ms/image':>11}{'median':>9}"
          f"{'images/s':>10}")
    for row in rows:
        print(f"{row['name']:<40}{row['params'] / 1e6:>9.2f}M"
              f"{row['ms']:>11.1f}{row['median_ms']:>9.1f}"
              f"{row['images_per_s']:>10.3f}")
    if len(rows) == 2:
        # medians: robust to the odd image slowed down by other processes
        ratio = rows[1]['median_ms'] / rows[0]['median_ms']
        print(f"time ratio (medians) {rows[1]['name']} / {rows[0]['name']}: "
              f'{ratio:.3f}; speed-up of {rows[1]["name"]} over '
              f'{rows[0]["name"]}: {1 / ratio:.2f}x')


def main(argv=None):
    args = parse_args(argv)
    specs = [(args.config, args.checkpoint)]
    if args.compare:
        specs.append((args.compare[0], (args.compare + [None])[1]))
    names = [osp.splitext(osp.basename(c))[0] for c, _ in specs]
    if len(names) == 2 and names[0] == names[1]:
        names = [
            f'{n} ({osp.basename(k or "random")})'
            for n, (_, k) in zip(names, specs)
        ]
    loaded = [load_model(c, k, args) for c, k in specs]
    inputs, notes = zip(*(make_inputs(cfg, args) for cfg, _ in loaded))
    models = [model for _, model in loaded]
    times = measure(models, list(inputs), args.warmup)
    rows = [summarise(n, m, t) for n, m, t in zip(names, models, times)]
    print_table(rows, notes, torch.get_num_threads())
    return rows


if __name__ == '__main__':
    main()
