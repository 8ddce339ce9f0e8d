"""Where a training step's time goes: ``torch.profiler`` on real batches.

    python tools/analysis_tools/profile_step.py CONFIG \
        [--teacher-ckpt CKPT] [--warmup 3] [--iters 5] [--top 15] \
        [--cfg-options KEY=VALUE ...]

Builds the config's model (a detector, or a distiller whose teacher loads
``--teacher-ckpt``) and the first batches of its training set, runs
``--warmup`` SGD steps, then profiles ``--iters`` more and prints the
operators that take the most CPU time (self time, summed over the profiled
steps) and the steps' median wall and CPU time. Data loading is outside
the profiled region.
"""
import argparse
import statistics
import time

from mmkd.utils.errors import exit_on_user_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a detector or distillation config')
    parser.add_argument(
        '--teacher-ckpt', help='the teacher checkpoint of a distiller')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument(
        '--top', type=int, default=15, help='operators to print')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='key=value overrides')
    return parser.parse_args(argv)


def main(argv=None):
    import torch
    from torch.profiler import ProfilerActivity, profile

    from mmkd.analysis.steps import build_step, training_batches
    args = parse_args(argv)
    with exit_on_user_error():
        step = build_step(
            args.config, args.cfg_options, teacher_ckpt=args.teacher_ckpt)
        batches = training_batches(args.config, args.cfg_options,
                                   args.warmup + args.iters)
    for batch in batches[:args.warmup]:
        step(batch)
    wall, cpu = [], []
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches[args.warmup:]:
            start, start_cpu = time.perf_counter(), time.process_time()
            step(batch)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    print(f'{args.config}: median step {statistics.median(wall):.3f} s '
          f'wall, {statistics.median(cpu):.3f} s CPU over {args.iters} '
          f'profiled steps ({torch.get_num_threads()} threads)')
    print(prof.key_averages().table(
        sort_by='self_cpu_time_total', row_limit=args.top))


if __name__ == '__main__':
    main()
