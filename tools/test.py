"""Evaluate a checkpoint (MMDetection's ``tools/test.py`` shape).

For a distillation config the student is evaluated: the distiller's
``predict`` delegates to it and the teacher is not built at all.

The checkpoint must fit the model exactly (the same keys and shapes, the
same classes as the test set): a checkpoint of another model would be
evaluated with random weights where it does not fit, and its mAP would look
like a result. ``--allow-partial`` evaluates it anyway.

Before the model is built, the output paths (``--out``, ``--show-dir``, the
work dir) must be writable, so that an evaluation is never lost at its
end; the test split's annotations are checked as a training split's are,
and must hold ground truth of the classes in images that all read (its mAP
would be -1 otherwise, or the run would stop at the first unreadable
image).

Examples::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out results.pkl
    tools/dist_test.sh CONFIG CHECKPOINT 2
"""
import os
import os.path as osp

from mmkd.datasets.data_check import check_datasets, dataset_classes
from mmkd.engine.checkpoint import (check_state_dict, checkpoint_state_dict,
                                    is_distiller_state, read_checkpoint)
from mmkd.engine.config_check import (check_model_config, check_run_values,
                                      load_config)
from mmkd.engine.launch import (ToolParser, add_launch_args, build_runner,
                                check_model, parse_launch_args, set_work_dir,
                                setup_launcher, teardown_launcher)
from mmkd.models.distillers.export import is_distiller
from mmkd.utils.errors import CheckpointError, ConfigError, exit_on_user_error
from mmkd.utils.output_paths import check_output


def parse_args(argv=None):
    parser = ToolParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the predictions to a pickle file (.pkl)')
    parser.add_argument(
        '--show-dir', help='directory where painted images are saved')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='evaluate a checkpoint whose keys, shapes or classes differ '
        'from the model (what does not fit keeps its random weights)')
    add_launch_args(parser)
    return parse_launch_args(parser, argv)


def _check_out(path: str) -> None:
    if not path.endswith(('.pkl', '.pickle')):
        raise ConfigError(f'--out {path!r} must be a .pkl file')
    check_output(path, '--out')


def apply_args(cfg, args):
    set_work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    cfg.launcher = args.launcher
    if is_distiller(cfg.model):
        # Only the student is evaluated: no teacher, no teacher checkpoint.
        cfg.model.eval_only = True
    if args.show_dir:
        # MMDetection writes a relative --show-dir under the run's log dir.
        check_output(
            osp.join(cfg.work_dir, args.show_dir), '--show-dir', folder=True)
        hook = cfg.default_hooks.visualization
        hook.draw = True
        hook.test_out_dir = args.show_dir
    if args.out is not None:
        _check_out(args.out)
        # Written under a temporary name, renamed when the run succeeded.
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpDetResults', out_file_path=_partial(args.out)))
    return cfg


def _partial(out: str) -> str:
    return osp.join(
        osp.dirname(out), f'.{osp.basename(out)}.{os.getpid()}.partial.pkl')


def _publish(out) -> None:
    """Rename the complete ``--out`` file (written by rank 0) to its name."""
    if out is None or not osp.isfile(_partial(out)):
        return
    with open(_partial(out), 'rb') as f:
        os.fsync(f.fileno())
    os.replace(_partial(out), out)


def _mismatch_fix(model_keys, checkpoint_keys) -> str:
    if is_distiller_state(dict.fromkeys(model_keys)) and \
            not is_distiller_state(dict.fromkeys(checkpoint_keys)):
        return ('It is not a distillation checkpoint: test a detector '
                'checkpoint with its own detector config.')
    if is_distiller_state(dict.fromkeys(checkpoint_keys)):
        return ('It is a distillation checkpoint: test it with its '
                'distillation config, or extract the student with '
                'tools/model_converters/extract_student.py.')
    return ('Test it with the config it was trained with, or pass '
            '--allow-partial to evaluate it anyway.')


def check_checkpoint(cfg, args, shapes: dict) -> None:
    """The checkpoint has exactly the model's keys and shapes and was
    trained on the test set's classes."""
    checkpoint = read_checkpoint(args.checkpoint, 'checkpoint')
    if args.allow_partial:
        return
    state_dict = checkpoint_state_dict(checkpoint)
    check_state_dict(
        shapes,
        state_dict,
        source=f'checkpoint {args.checkpoint!r}',
        target='model',
        fix=_mismatch_fix(shapes, state_dict))
    meta = checkpoint.get('meta') or {}
    trained = (meta.get('dataset_meta') or {}).get('classes')
    tested = dataset_classes(cfg, 'test')
    if trained is not None and tested is not None and \
            list(trained) != list(tested):
        raise CheckpointError(
            f'checkpoint {args.checkpoint!r} was trained on the classes '
            f'{list(trained)}, the test set has {list(tested)}; test it on '
            'its dataset (or set test_dataloader.dataset.metainfo.classes), '
            'or pass --allow-partial')


def main(argv=None):
    args = parse_args(argv)
    with exit_on_user_error():  # bad input: `error: ...`, no traceback
        cfg = load_config(args.config, args.cfg_options)
        cfg = apply_args(cfg, args)
        check_run_values(cfg)
        check_model_config(cfg.get('model', {}))
        setup_launcher(cfg, args.launcher)
        check_checkpoint(cfg, args, check_model(cfg))
        if not args.skip_data_check:
            check_datasets(cfg, ('test', ))
        runner = build_runner(cfg)
        try:
            metrics = runner.test()
            _publish(args.out)
        finally:
            if args.out is not None and osp.isfile(_partial(args.out)):
                os.remove(_partial(args.out))  # the run failed
    teardown_launcher()
    return metrics


if __name__ == '__main__':
    main()
