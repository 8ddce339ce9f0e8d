"""Write the student of a distillation checkpoint as a plain MMDetection
checkpoint (no teacher, no adaptation layers), and its config.

    python tools/model_converters/extract_student.py \
        work_dirs/kd/epoch_12.pth student.pth --config configs/kd/xxx.py

The result loads with ``mmdet.apis.init_detector('student.py',
'student.pth')`` and predicts exactly what the distiller's student does.
With ``--config`` the student it describes is built and must hold exactly
the checkpoint's student weights (``--allow-partial`` writes it anyway);
nothing is written unless every check passed, and both files are written
atomically.
"""
import os.path as osp

from mmkd.engine.atomic_backend import atomic_write
from mmkd.engine.checkpoint import (atomic_torch_save, check_state_dict,
                                    read_checkpoint, student_checkpoint)
from mmkd.engine.config_check import load_config
from mmkd.engine.launch import ToolParser, check_model
from mmkd.models.distillers.export import deployed_model_cfg, student_config
from mmkd.utils.errors import CheckpointError, ConfigError, exit_on_user_error
from mmkd.utils.output_paths import check_output


def parse_args(argv=None):
    parser = ToolParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a TwoStageDistiller checkpoint')
    parser.add_argument('out', help='output checkpoint path (.pth)')
    parser.add_argument(
        '--config',
        help='the distillation config; the student config is written next '
        'to OUT with a .py suffix')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='write the student even if its keys or shapes differ from the '
        "student of --config")
    return parser.parse_args(argv)


def check_out(out: str, checkpoint: str) -> None:
    if not out.endswith('.pth'):
        raise ConfigError(f'OUT {out!r} must end in .pth (the student '
                          'config is written next to it as .py)')
    if osp.isdir(out):
        raise ConfigError(f'OUT {out!r} is a directory; give a file name, '
                          'e.g. student.pth')
    if osp.exists(out) and osp.samefile(out, checkpoint):
        raise ConfigError(f'OUT {out!r} is the input checkpoint; give '
                          'another file name')
    check_output(out, 'OUT')


def checked_config(args, exported: dict):
    """The student config of ``--config``, checked against the weights."""
    cfg = load_config(args.config)
    try:
        out_cfg = student_config(cfg)
    except ValueError as exc:
        raise ConfigError(f'--config {args.config}: {exc}; give the '
                          'distillation config of the checkpoint') from None
    if not args.allow_partial:
        student = cfg.copy()
        student.model = deployed_model_cfg(cfg.model)
        check_state_dict(
            check_model(student),
            exported['state_dict'],
            source=f'the student of {args.checkpoint!r}',
            target='student',
            fix=f'Give the distillation config that trained it as --config '
            f'(not {args.config}), or pass --allow-partial.')
    return out_cfg


def main(argv=None):
    args = parse_args(argv)
    with exit_on_user_error():
        check_out(args.out, args.checkpoint)
        checkpoint = read_checkpoint(args.checkpoint, 'checkpoint')
        try:
            exported = student_checkpoint(checkpoint, source=args.checkpoint)
        except ValueError as exc:
            raise CheckpointError(f'{args.checkpoint}: {exc}') from None
        cfg = checked_config(args, exported) if args.config else None
        # Every check passed: write.
        atomic_torch_save(exported, args.out)
        print(f'wrote {args.out} ({len(exported["state_dict"])} tensors)')
        if cfg is not None:
            cfg_out = osp.splitext(args.out)[0] + '.py'
            atomic_write(cfg.pretty_text.encode(), cfg_out)
            print(f'wrote {cfg_out}')


if __name__ == '__main__':
    main()
