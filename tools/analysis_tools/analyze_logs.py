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
import glob
import json
import math
import os.path as osp
import statistics


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot keys of the logs')
    plot.add_argument('logs', nargs='+', help='json logs or work dirs')
    plot.add_argument('--keys', nargs='+', help='keys to plot (default: '
                      'every loss term and the bbox mAP)')
    plot.add_argument('--legend', nargs='+', help='one name per log '
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


def find_log(path):
    """The json log of ``path`` (a file, or a work dir's latest run)."""
    if osp.isfile(path):
        return path
    found = sorted(glob.glob(osp.join(path, '**', 'vis_data',
                                      'scalars.json'), recursive=True))
    if not found:
        raise SystemExit(f'error: {path!r} is neither a json log nor a '
                         'directory with */vis_data/scalars.json; pass the '
                         'scalars.json that MMEngine wrote')
    return found[-1]


def load_log(path):
    """``(train, val)`` lists of dicts from a json-lines log.

    Training lines have an ``iter`` field; validation lines do not, and
    their ``step`` is the epoch (epoch-based runs) or the iteration.
    """
    train, val = [], []
    with open(find_log(path)) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f'error: {path}:{number} is not a json '
                                 f'line ({exc}); is it a .log text file? '
                                 'Pass the vis_data/*.json log') from exc
            (train if 'iter' in entry else val).append(entry)
    return train, val


def default_keys(logs):
    """Every loss key (the total first) and every ``*/bbox_mAP`` /
    ``*/mAP`` key present in ``logs``."""
    losses, metrics = [], []
    for train, val in logs:
        for entry in train:
            losses += [k for k in entry if 'loss' in k and k not in losses]
        for entry in val:
            metrics += [k for k in entry if k.endswith(('/bbox_mAP', '/mAP'))
                        and k not in metrics]
    losses.sort(key=lambda k: (k != 'loss', not k.startswith('student.'),
                               k))
    return losses + metrics


def series(logs, keys, labels):
    """``{key: {label: (xs, ys)}}`` and each key's x axis name."""
    curves, axes = {}, {}
    for (train, val), label in zip(logs, labels):
        by_epoch = any('epoch' in entry for entry in train)
        for key in keys:
            is_val = any(key in entry for entry in val)
            lines = val if is_val else train
            points = [(e['step'], e[key]) for e in lines if key in e]
            if points:
                curves.setdefault(key, {})[label] = tuple(zip(*points))
                axes[key] = 'epoch' if is_val and by_epoch else 'iteration'
    missing = [k for k in keys if k not in curves]
    if missing:
        available = sorted({k for t, v in logs for e in t + v for k in e})
        raise SystemExit(f'error: key(s) {missing} are in none of the logs; '
                         f'available keys: {available}')
    return curves, axes


def plot_curve(logs, keys, labels, out, title=None):
    """Draw one panel per key into ``out`` (PNG); returns the curves."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves, axes = series(logs, keys, labels)
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, grid = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows),
                             squeeze=False)
    for ax, key in zip(grid.flat, keys):
        for label, (xs, ys) in curves[key].items():
            ax.plot(xs, ys, marker='o' if axes[key] == 'epoch' else None,
                    markersize=3, linewidth=1, label=label)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel(axes[key])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(grid.flat)[len(keys):]:
        ax.axis('off')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f'wrote {out}: {len(keys)} panel(s) for {len(labels)} log(s)')
    return curves


def cal_train_time(paths, logs):
    """Print mean seconds per training iteration, overall and per epoch."""
    results = {}
    for path, (train, _) in zip(paths, logs):
        times = [e['time'] for e in train if 'time' in e]
        if not times:
            raise SystemExit(f'error: {path} has no training "time" field')
        epochs = {}
        for entry in train:
            if 'time' in entry:
                epochs.setdefault(entry.get('epoch', 1), []).append(
                    entry['time'])
        per_epoch = {e: statistics.fmean(t) for e, t in epochs.items()}
        results[path] = dict(mean=statistics.fmean(times), epochs=per_epoch)
        print(f'{path}: {results[path]["mean"]:.4f} s/iter over '
              f'{len(times)} logged iterations')
        for epoch, mean in sorted(per_epoch.items()):
            print(f'  epoch {epoch}: {mean:.4f} s/iter')
    return results


def main(argv=None):
    args = parse_args(argv)
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
