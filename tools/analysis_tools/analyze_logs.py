"""Plot loss terms and validation mAP from MMEngine's json logs.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG [LOG ...] \
        [--keys KEY ...] [--legend NAME ...] [--title TITLE] --out OUT.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG [LOG ...]

A LOG is a ``vis_data/scalars.json`` (or ``vis_data/<timestamp>.json``)
written by MMEngine, or a work dir holding one (the latest run's is taken).
Training lines carry the losses - a detector's ``loss_cls`` ..., a
distiller's hard ``student.*`` terms and each ``distill.*`` term - against
the iteration; validation lines carry metrics such as ``coco/bbox_mAP``
against the epoch (or iteration). Each key gets its own panel, each log one
line per panel. By default every loss key and every ``*/bbox_mAP`` or
``*/mAP`` key is plotted.
"""
import argparse

from mmkd.analysis.logs import (cal_train_time, default_keys, load_log,
                                plot_curve)
from mmkd.utils.errors import exit_on_user_error
from mmkd.utils.output_paths import check_output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot keys of the logs')
    plot.add_argument('logs', nargs='+', help='json logs or work dirs')
    plot.add_argument(
        '--keys',
        nargs='+',
        help='keys to plot (default: '
        'every loss term and the bbox mAP)')
    plot.add_argument(
        '--legend',
        nargs='+',
        help='one name per log '
        '(default: the log paths)')
    plot.add_argument('--title', help='figure title')
    plot.add_argument('--out', required=True, help='output image (.png)')
    timing = sub.add_parser('cal_train_time', help='seconds per iteration')
    timing.add_argument('logs', nargs='+', help='json logs or work dirs')
    args = parser.parse_args(argv)
    if args.task == 'plot_curve' and args.legend and \
            len(args.legend) != len(args.logs):
        parser.error(f'--legend has {len(args.legend)} names for '
                     f'{len(args.logs)} logs; give one name per log')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.task == 'plot_curve':
        with exit_on_user_error():
            check_output(args.out, '--out')
    logs = [load_log(path) for path in args.logs]
    if args.task == 'cal_train_time':
        return cal_train_time(args.logs, logs)
    keys = args.keys or default_keys(logs)
    if not keys:
        raise SystemExit('error: no loss or mAP keys in the logs; name the '
                         'keys to plot with --keys')
    labels = args.legend or args.logs
    return plot_curve(logs, keys, labels, args.out, args.title)


if __name__ == '__main__':
    main()
