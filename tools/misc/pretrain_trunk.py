"""Pre-train a demo detector trunk on the generated classification task, the
demo's stand-in for ImageNet (``mmkd.demo.pretrain``).

    python tools/misc/pretrain_trunk.py --width 32 \\
        [--out work_dirs/pretrain/r18w32.pth] [--seed 0] [--epochs N] \\
        [--num-images N] [--config CONFIG] [--force]

Writes an ordinary checkpoint ``{'state_dict', 'meta'}`` (atomically) whose
keys are the detector's (``backbone.*``): the detector loads it with
``model.init_cfg = dict(type='Pretrained', checkpoint=OUT)`` (see
``configs/faster_rcnn/frcnn_r18w*_synthetic_pretrained.py``). If ``OUT``
already holds a trunk pre-trained with the same settings it is kept;
``--force`` retrains. Run it with ``OMP_NUM_THREADS=1`` on a shared CPU.
"""
import argparse
import os.path as osp
import sys

from mmkd.demo.pretrain import (KNOBS, MODEL_CONFIG, ROOT, existing_run,
                                pretrain_trunk, run_settings)
from mmkd.utils.errors import exit_on_user_error
from mmkd.utils.output_paths import check_output


class _Parser(argparse.ArgumentParser):
    """Bad arguments end in one ``error: ...`` line (no usage dump)."""

    def error(self, message):
        raise SystemExit(f'error: {message}; see --help')


def parse_args(argv=None):
    parser = _Parser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--width',
        type=int,
        required=True,
        help='base_channels of the trunk (32: teacher, 8: student)')
    parser.add_argument(
        '--out', help='checkpoint (default: work_dirs/pretrain/r18wW.pth)')
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, MODEL_CONFIG),
        help='config whose model.backbone is the trunk (default: '
        f'{MODEL_CONFIG})')
    for name, kind, default, text in KNOBS:
        parser.add_argument(
            '--' + name.replace('_', '-'),
            type=kind,
            default=default,
            help=f'{text} (default: {default})')
    parser.add_argument(
        '--force',
        action='store_true',
        help='retrain even if OUT holds this run, replace OUT if not')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or f'work_dirs/pretrain/r18w{args.width}.pth'
    knobs = {name: getattr(args, name) for name, *_ in KNOBS}
    with exit_on_user_error():
        check_output(out, '--out')
        settings = run_settings(args.width, args.config, **knobs)
        meta = None if args.force else existing_run(out, settings)
        if meta is not None:
            print(f'{out} already holds this pre-trained trunk (held-out '
                  f"accuracy {meta['val_accuracy']:.3f}); skipped. Pass "
                  '--force to retrain it.')
            return 0
    print(
        f'Pre-training the width-{args.width} trunk to {out} with '
        f'{knobs}',
        flush=True)
    meta = pretrain_trunk(out, settings, log=lambda m: print(m, flush=True))
    print(f"Wrote {out}: held-out accuracy {meta['val_accuracy']:.3f} "
          f"({settings['num_val']} images), {meta['seconds']['total']:.0f} s "
          f"({meta['threads']} threads).")
    return 0


if __name__ == '__main__':
    sys.exit(main())
