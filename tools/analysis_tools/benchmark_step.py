"""Training-step time of variants of a config, measured side by side.

    python tools/analysis_tools/benchmark_step.py CONFIG \
        --variant NAME [KEY=VALUE ...] --variant NAME [KEY=VALUE ...] \
        [--channels-last NAME ...] [--iters 10] [--teacher-ckpt CKPT]

Each variant is the config with its ``--cfg-options``-style overrides.
All variants are built first; then every round runs one SGD step of each
variant, in turn, on the same real batch of the config's training set, so
that a machine's changing load touches all of them alike. Prints each
variant's median wall and CPU time per step and its ratio to the first.
A config that trains channels-last (``ChannelsLastHook``) runs so (a
variant with ``custom_hooks=[]`` does not); ``--channels-last`` runs the
named variants channels-last whatever their config says.
"""
import argparse
import statistics
import time

from mmkd.utils.errors import exit_on_user_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a detector or distillation config')
    parser.add_argument(
        '--variant',
        nargs='+',
        action='append',
        metavar='NAME [KEY=VALUE]',
        required=True,
        help='a name and its overrides (repeat for each variant)')
    parser.add_argument(
        '--channels-last',
        nargs='+',
        default=[],
        metavar='NAME',
        help='variants run in the channels-last memory format')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--teacher-ckpt', help='the teacher checkpoint of a distiller')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='overrides applied to every variant')
    return parser.parse_args(argv)


def main(argv=None):
    import torch

    from mmkd.analysis.steps import build_step, training_batches
    args = parse_args(argv)
    names = [v[0] for v in args.variant]
    unknown = sorted(set(args.channels_last) - set(names))
    if unknown:
        raise SystemExit(f'error: --channels-last {unknown}: no such '
                         f'variant; the variants are {names}')
    with exit_on_user_error():
        steps = {
            v[0]:
            build_step(
                args.config,
                args.cfg_options + v[1:],
                teacher_ckpt=args.teacher_ckpt,
                channels_last=v[0] in args.channels_last)
            for v in args.variant
        }
        batches = training_batches(args.config, args.cfg_options,
                                   args.warmup + args.iters)
    wall = {name: [] for name in steps}
    cpu = {name: [] for name in steps}
    for i, batch in enumerate(batches):
        for name, step in steps.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            step(batch)
            if i >= args.warmup:
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    first = names[0]
    print(f'{args.config}: median of {args.iters} interleaved steps, '
          f'{torch.get_num_threads()} threads')
    print('| variant | wall s | CPU s | wall / first | CPU / first |')
    print('|---|---:|---:|---:|---:|')
    for name in names:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f'| {name} | {w:.3f} | {c:.3f} | '
              f'{w / statistics.median(wall[first]):.2f} | '
              f'{c / statistics.median(cpu[first]):.2f} |')


if __name__ == '__main__':
    main()
