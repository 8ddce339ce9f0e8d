"""Generate the built-in synthetic COCO-format dataset.

    python tools/dataset_converters/generate_synthetic.py \\
        [--out data/synthetic] [--seed 0] [--num-train N] [--num-val N] \\
        [--num-test N] [--img-size H W] [--force]

Writes ``OUT/{train,val,test}/*.png``, ``OUT/annotations/instances_{train,
val,test}.json`` and ``OUT/settings.json`` (see ``mmkd.datasets.synthetic``).
If ``OUT`` already holds a dataset with the same settings (and the same
generator version) it is kept and nothing is written. The dataset is built
in a temporary folder next to ``OUT`` and renamed at the end, so a killed run
never leaves a half dataset that looks complete.
"""
import argparse
import inspect
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time

from mmkd.datasets import synthetic
from mmkd.utils.cpus import cpu_count
from mmkd.utils.errors import exit_on_user_error
from mmkd.utils.output_paths import check_output

# Defaults of the knobs come from the generator itself.
DEFAULTS = inspect.signature(synthetic.generate_synthetic_coco).parameters
# Command-line knobs: (argument of generate_synthetic_coco, type, help).
KNOBS = (
    ('seed', int, 'seed of every split and image'),
    ('num_train', int, 'training images'),
    ('num_val', int, 'validation images (for choices)'),
    ('num_test', int, 'test images (for reported numbers)'),
    ('clutter', float, 'scale of the background clutter'),
    ('noise', float, 'largest std of the pixel noise (0-255)'),
    ('min_size', float, 'smallest object size in pixels'),
    ('max_size', float, 'largest object size in pixels (default: 3/8 of '
     'the shorter image side)'),
    ('max_objects', int, 'most objects per image'),
    ('min_visible', float, 'least visible fraction to annotate an object'),
    ('max_overlap', float, 'most overlap of two boxes (of the smaller)'),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--out',
        default='data/synthetic',
        help='output folder (default: %(default)s)')
    for name, kind, text in KNOBS:
        default = DEFAULTS[name].default
        if default is not None:
            text += f' (default: {default})'
        parser.add_argument(
            '--' + name.replace('_', '-'),
            type=kind,
            default=default,
            help=text)
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        default=list(DEFAULTS['img_size'].default),
        help='image height and width (default: %(default)s)')
    parser.add_argument(
        '--workers',
        type=int,
        default=cpu_count(),
        help='processes rendering images at once (default: the CPUs this '
        'process may use, %(default)s); the files are the same for any '
        'number')
    parser.add_argument(
        '--force',
        action='store_true',
        help='regenerate even if OUT holds the same dataset, '
        'and replace OUT even if it is not one')
    return parser.parse_args(argv)


def read_settings(out_dir):
    """The ``settings.json`` of a generated dataset, or None."""
    path = osp.join(out_dir, 'settings.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def replace_dir(src, dst):
    """Move ``src`` to ``dst``, replacing it; one of them always exists."""
    old = None
    if osp.exists(dst):
        old = tempfile.mkdtemp(
            prefix=osp.basename(dst) + '.old-', dir=osp.dirname(dst))
        os.rename(dst, osp.join(old, 'data'))
    os.rename(src, dst)
    if old:
        shutil.rmtree(old)


def main(argv=None):
    args = parse_args(argv)
    out = osp.abspath(args.out)
    with exit_on_user_error():
        check_output(out, '--out', folder=True)
    kwargs = {name: getattr(args, name) for name, _, _ in KNOBS}
    kwargs['img_size'] = tuple(args.img_size)
    wanted = json.loads(
        json.dumps(
            dict(
                kwargs,
                img_size=args.img_size,
                version=synthetic.GENERATOR_VERSION)))
    found = read_settings(out)
    if found == wanted and not args.force:
        print(f'{out} already holds this dataset (settings.json matches); '
              'skipped. Pass --force to regenerate it.')
        return 0
    if found is None and osp.isdir(out) and os.listdir(out) and \
            not args.force:
        sys.exit(f'{out} exists and is not a generated dataset (no '
                 'settings.json); choose another --out, or pass --force to '
                 'replace it.')
    reason = 'settings differ' if found else 'no dataset yet'
    print(
        f'Generating {out} ({"--force" if args.force else reason}) with '
        f'{kwargs}',
        flush=True)
    os.makedirs(osp.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(
        prefix=osp.basename(out) + '.tmp-', dir=osp.dirname(out))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private
    try:
        start = time.perf_counter()
        summary = synthetic.generate_synthetic_coco(
            tmp, verbose=True, workers=max(1, args.workers), **kwargs)
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(summary, indent=2))
    print(f'Wrote {out} in {time.perf_counter() - start:.1f} s.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
