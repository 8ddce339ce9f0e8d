"""Reading MMEngine's json logs: loss terms and validation metrics, their
curves, and seconds per iteration (``tools/analysis_tools/analyze_logs.py``
and the demo's report use them).

A log is a ``vis_data/scalars.json`` (or ``vis_data/<timestamp>.json``)
written by MMEngine, or a work dir holding one (the latest run's is taken).
Training lines carry the losses against the iteration; validation lines
carry metrics such as ``coco/bbox_mAP`` against the epoch (or iteration).
"""
import glob
import json
import math
import os.path as osp
import statistics


def read_json_lines(pattern: str) -> list:
    lines = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            lines += [json.loads(line) for line in f if line.strip()]
    return lines


def val_curve(run_dir: str) -> list:
    """``[(epoch, val mAP), ...]`` of a training run, from its logs (a
    resumed run's logs included)."""
    curve = {}
    for line in read_json_lines(
            osp.join(run_dir, '*', 'vis_data', 'scalars.json')):
        if 'coco/bbox_mAP' in line:
            curve[line['step']] = line['coco/bbox_mAP']
    return sorted(curve.items())


def find_log(path):
    """The json log of ``path`` (a file, or a work dir's latest run)."""
    if osp.isfile(path):
        return path
    found = sorted(
        glob.glob(
            osp.join(path, '**', 'vis_data', 'scalars.json'), recursive=True))
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
            metrics += [
                k for k in entry
                if k.endswith(('/bbox_mAP', '/mAP')) and k not in metrics
            ]
    losses.sort(key=lambda k: (k != 'loss', not k.startswith('student.'), k))
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
    fig, grid = plt.subplots(
        rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, key in zip(grid.flat, keys):
        for label, (xs, ys) in curves[key].items():
            ax.plot(
                xs,
                ys,
                marker='o' if axes[key] == 'epoch' else None,
                markersize=3,
                linewidth=1,
                label=label)
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
                epochs.setdefault(entry.get('epoch', 1),
                                  []).append(entry['time'])
        per_epoch = {e: statistics.fmean(t) for e, t in epochs.items()}
        results[path] = dict(mean=statistics.fmean(times), epochs=per_epoch)
        print(f'{path}: {results[path]["mean"]:.4f} s/iter over '
              f'{len(times)} logged iterations')
        for epoch, mean in sorted(per_epoch.items()):
            print(f'  epoch {epoch}: {mean:.4f} s/iter')
    return results
