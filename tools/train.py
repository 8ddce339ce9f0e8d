"""Train a detector or a distiller (MMDetection's ``tools/train.py`` shape).

Examples::

    python tools/train.py configs/kd/frcnn_vgg16_alexnet_coco.py
    python tools/train.py CONFIG --resume            # latest in work dir
    python tools/train.py CONFIG --resume PATH.pth   # a given checkpoint
    tools/dist_train.sh CONFIG 4 --cfg-options train_dataloader.batch_size=2
"""
import argparse
import os.path as osp

from mmengine.config import Config

from mmkd.engine.checkpoint import latest_checkpoint
from mmkd.engine.launch import (add_launch_args, build_runner, configure_amp,
                                parse_launch_args, set_work_dir,
                                setup_launcher, teardown_launcher)
from mmkd.utils.config_check import check_model_config, load_config
from mmkd.utils.errors import exit_on_user_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector')
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
    if args.resume == 'auto':
        # The newest complete checkpoint, even if MMEngine's last_checkpoint
        # pointer was cut short by a crash (None: start from scratch).
        cfg.resume = True
        cfg.load_from = latest_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'error: --resume {args.resume}: no such file')
        cfg.resume = True
        cfg.load_from = args.resume
    cfg.launcher = args.launcher
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg = apply_args(cfg, args)
    # Bad configs, data files and checkpoints are reported as
    # `error: ...` (what is wrong, where, what to do), not as tracebacks.
    with exit_on_user_error():
        check_model_config(cfg.get('model', {}))
        setup_launcher(cfg, args.launcher)
        runner = build_runner(cfg)
        runner.train()
    teardown_launcher()


if __name__ == '__main__':
    main()
