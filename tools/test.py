"""Evaluate a checkpoint (MMDetection's ``tools/test.py`` shape).

For a distillation config the student is evaluated: the distiller's
``predict`` delegates to it and the teacher is not built at all.

Examples::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out results.pkl
    tools/dist_test.sh CONFIG CHECKPOINT 2
"""
import argparse
import os.path as osp

from mmkd.engine.launch import (add_launch_args, build_runner,
                                parse_launch_args, set_work_dir,
                                setup_launcher, teardown_launcher)
from mmkd.models.distillers.export import is_distiller
from mmkd.utils.config_check import check_model_config, load_config
from mmkd.utils.errors import exit_on_user_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the predictions to a pickle file (.pkl)')
    parser.add_argument(
        '--show-dir', help='directory where painted images are saved')
    add_launch_args(parser)
    return parse_launch_args(parser, argv)


def apply_args(cfg, args):
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint!r} does not '
                         'exist')
    set_work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    cfg.launcher = args.launcher
    if is_distiller(cfg.model):
        # Only the student is evaluated: no teacher, no teacher checkpoint.
        cfg.model.eval_only = True
    if args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.draw = True
        hook.test_out_dir = args.show_dir
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'error: --out {args.out!r} must be a .pkl file')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpDetResults', out_file_path=args.out))
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg = apply_args(cfg, args)
    with exit_on_user_error():  # bad input: `error: ...`, no traceback
        check_model_config(cfg.get('model', {}))
        setup_launcher(cfg, args.launcher)
        runner = build_runner(cfg)
        metrics = runner.test()
    teardown_launcher()
    return metrics


if __name__ == '__main__':
    main()
