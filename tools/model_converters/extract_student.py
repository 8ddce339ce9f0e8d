"""Write the student of a distillation checkpoint as a plain MMDetection
checkpoint (no teacher, no adaptation layers), and its config.

    python tools/model_converters/extract_student.py \
        work_dirs/kd/epoch_12.pth student.pth --config configs/kd/xxx.py

The result loads with ``mmdet.apis.init_detector('student.py',
'student.pth')`` and predicts exactly what the distiller's student does.
"""
import argparse
import os.path as osp

from mmengine.runner.checkpoint import _load_checkpoint

from mmkd.engine.checkpoint import atomic_torch_save
from mmkd.models.distillers.export import student_checkpoint, student_config
from mmkd.utils.config_check import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a TwoStageDistiller checkpoint')
    parser.add_argument('out', help='output checkpoint path (.pth)')
    parser.add_argument(
        '--config',
        help='the distillation config; the student config is written next '
        'to OUT with a .py suffix')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint!r} does not '
                         'exist')
    checkpoint = _load_checkpoint(args.checkpoint, map_location='cpu')
    try:
        exported = student_checkpoint(checkpoint, source=args.checkpoint)
    except ValueError as exc:
        raise SystemExit(f'error: {args.checkpoint}: {exc}') from exc
    atomic_torch_save(exported, args.out)
    print(f'wrote {args.out} ({len(exported["state_dict"])} tensors)')
    if args.config:
        try:
            cfg = student_config(load_config(args.config))
        except ValueError as exc:
            raise SystemExit(f'error: {args.config}: {exc}') from exc
        cfg_out = osp.splitext(args.out)[0] + '.py'
        cfg.dump(cfg_out)
        print(f'wrote {cfg_out}')


if __name__ == '__main__':
    main()
