"""Train a detector or a distiller (MMDetection's ``tools/train.py`` shape).

Examples::

    python tools/train.py configs/kd/frcnn_vgg16_alexnet_coco.py
    python tools/train.py CONFIG --resume            # latest in work dir
    python tools/train.py CONFIG --resume PATH.pth   # a given checkpoint
    tools/dist_train.sh CONFIG 4 --cfg-options train_dataloader.batch_size=2

Everything that can be checked is checked before the runner starts (and
before it prints the environment and the config): the config's keys and
values, the work dir (writable; an earlier run's checkpoints are never
overwritten, and ``--resume`` needs a run to continue), the checkpoint to
resume from (a complete training checkpoint of this model), the model
itself (built once; a distiller needs its teacher's checkpoint) and the
annotation files of the training and validation splits. A mistake ends in
one line, ``error: ...``, that names the value and the fix.

Every run has the non-finite loss guard (``default_hooks.nonfinite``,
``NonFiniteLossHook``; added with its defaults to a config without it): a
NaN/Inf loss term stops the run with one ``error:`` line naming the
iteration and the terms (``policy='stop'``), or skips the batch up to a
share of each epoch (``policy='skip'``).
"""

from mmengine.config import Config

from mmkd.datasets.data_check import check_datasets
from mmkd.engine.checkpoint import (check_state_dict, checkpoint_state_dict,
                                    latest_checkpoint, read_checkpoint)
from mmkd.engine.config_check import (check_model_config, check_run_values,
                                      load_config)
from mmkd.engine.launch import (ToolParser, add_launch_args, build_runner,
                                check_model, check_nonfinite_hook,
                                check_work_dir, configure_amp,
                                nothing_to_resume, parse_launch_args,
                                read_resume_checkpoint, set_work_dir,
                                setup_launcher, teardown_launcher)
from mmkd.utils.errors import ConfigError, exit_on_user_error


def parse_args(argv=None):
    parser = ToolParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='mixed precision training (bf16 autocast on CPU, fp16 on GPU)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from PATH, or from the latest checkpoint in the work '
        'dir when no path is given')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='resume from a checkpoint whose keys or shapes differ from the '
        'model (what does not fit keeps its initialisation; the optimizer '
        'state must still fit)')
    add_launch_args(parser)
    return parse_launch_args(parser, argv)


def apply_args(cfg: Config, args) -> Config:
    """Fold the command line into the config, as MMDetection does."""
    set_work_dir(cfg, args)
    if args.amp:
        configure_amp(cfg)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise SystemExit(
                'error: --auto-scale-lr needs `auto_scale_lr = dict('
                'base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume is None and cfg.get('resume', False):
        # `resume = True` in the config means the same as the option.
        args.resume = cfg.get('load_from') or 'auto'
    if args.resume == 'auto':
        # The newest complete checkpoint, even if MMEngine's last_checkpoint
        # pointer was cut short by a crash.
        path = latest_checkpoint(cfg.work_dir)
        if path is None:
            raise ConfigError(nothing_to_resume(cfg.work_dir))
        cfg.resume, cfg.load_from = True, path
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    cfg.launcher = args.launcher
    return cfg


def check_resume(cfg: Config, model_shapes: dict, allow_partial: bool):
    """The checkpoint to resume from fits the model; ``load_from`` (the
    weights a new run starts from) can be read."""
    if not cfg.get('resume', False):
        if cfg.get('load_from'):
            read_checkpoint(cfg.load_from, 'load_from')
        check_work_dir(cfg.work_dir, None)
        return
    checkpoint = read_resume_checkpoint(cfg.load_from)
    check_work_dir(cfg.work_dir, checkpoint['meta'])
    if not allow_partial:
        check_state_dict(
            model_shapes,
            checkpoint_state_dict(checkpoint),
            source=f'--resume {cfg.load_from!r}',
            target='model',
            fix='Resume with the config that wrote it, or pass '
            '--allow-partial to load only the matching weights.')


def main(argv=None):
    args = parse_args(argv)
    # Bad configs, data files and checkpoints are reported as
    # `error: ...` (what is wrong, where, what to do), not as tracebacks,
    # and before the runner prints or writes anything.
    with exit_on_user_error():
        cfg = load_config(args.config, args.cfg_options)
        cfg = apply_args(cfg, args)
        if 'model' not in cfg:
            raise ConfigError(f'{args.config} defines no `model`')
        check_run_values(cfg)
        check_nonfinite_hook(cfg)
        check_model_config(cfg.model)
        setup_launcher(cfg, args.launcher)
        shapes = check_model(cfg)
        check_resume(cfg, shapes, args.allow_partial)
        if not args.skip_data_check:
            check_datasets(cfg, ('train', 'val'))
        runner = build_runner(cfg)
        runner.train()
    teardown_launcher()


if __name__ == '__main__':
    main()
