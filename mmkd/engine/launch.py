"""Launch helpers shared by ``tools/train.py`` and ``tools/test.py``:
arguments, the work dir, the checkpoint to resume from, the model built
once to check it, CPU DDP and the runner.

The one thing MMEngine does not do for us is distributed training on
machines without GPUs: its ``init_dist('pytorch')`` calls
``torch.cuda.set_device`` and its default DDP wrapping passes
``device_ids=[LOCAL_RANK]``, both of which fail on CPU. Here the ``gloo``
process group is initialised before the Runner (which then skips its own
initialisation) and the model is wrapped with ``device_ids=None``.
"""
import argparse
import copy
import datetime
import difflib
import glob
import itertools
import os
import os.path as osp
import re
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmkd.engine.checkpoint import (describe_keys, previous_complete,
                                    read_checkpoint, step_checkpoints)
from mmkd.engine.config_text import memoize_config_text
from mmkd.engine.hooks.channels_last_hook import (check_layout_free,
                                                  trains_channels_last)
from mmkd.engine.hooks.rng_state_hook import kept_rng_states
from mmkd.registry import MODELS, RUNNERS
from mmkd.utils.errors import CheckpointError, ConfigError
from mmkd.utils.output_paths import check_output


class ToolParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose usage errors are one line, ``error: ...``,
    like every other mistake the tools report (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f'error: {message}; see {self.prog} --help\n')


class CfgOptions(DictAction):
    """MMEngine's ``DictAction`` that refuses an item without ``=``."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if '=' not in item:
                parser.error(f'--cfg-options {item!r} is not key=value; '
                             'e.g. --cfg-options train_cfg.max_epochs=12')
        super().__call__(parser, namespace, values, option_string)


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """The arguments ``tools/train.py`` and ``tools/test.py`` share."""
    parser.add_argument(
        '--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptions,
        help='override settings of the config, key=value pairs in xxx=yyy '
        'format, e.g. train_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--skip-data-check',
        action='store_true',
        help='do not check the annotation files and images before running')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launch_args(parser: argparse.ArgumentParser, argv=None):
    """Parse; export ``LOCAL_RANK`` for launchers that pass it as a flag."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def set_work_dir(cfg: Config, args) -> None:
    """``--work-dir``, else the config's, else ``work_dirs/CONFIG_NAME``;
    refused (``ConfigError``) if it is a file or cannot be written."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        name = os.path.splitext(os.path.basename(args.config))[0]
        cfg.work_dir = os.path.join('./work_dirs', name)
    if osp.exists(cfg.work_dir) and not osp.isdir(cfg.work_dir):
        raise ConfigError(f'work_dir {cfg.work_dir!r} is a file; give a '
                          'directory with --work-dir DIR (it is created if '
                          'it does not exist)')
    check_output(cfg.work_dir, 'work_dir', folder=True)


# The non-finite guard of a config that does not configure one (the
# values of configs/_base_/default_runtime.py).
NONFINITE_HOOK = dict(
    type='NonFiniteLossHook', policy='stop', max_skip_share=0.1)


def check_nonfinite_hook(cfg: Config) -> None:
    """Give every training run the non-finite guard
    (``default_hooks.nonfinite``): a config without one gets
    :data:`NONFINITE_HOOK`; the configured one is built once to check its
    values.

    Raises:
        ConfigError: it is switched off (None), of an unknown type, or has a
            bad policy, share or argument.
    """
    from mmkd.registry import HOOKS
    hooks = cfg.get('default_hooks') or {}
    if 'nonfinite' not in hooks:
        hook = dict(NONFINITE_HOOK)
        if cfg.get('default_scope', 'mmkd') != 'mmkd':
            hook['type'] = f"mmkd.{hook['type']}"  # found from any scope
        cfg.default_hooks = dict(hooks, nonfinite=hook)
        return
    hook = hooks['nonfinite']
    if not isinstance(hook, dict):
        raise ConfigError(
            f'default_hooks.nonfinite={hook!r}: every training run stops '
            'or skips batches on a NaN/Inf loss; choose with '
            "default_hooks.nonfinite.policy='stop' or 'skip' (keep "
            "type='NonFiniteLossHook')")
    from mmengine.registry import DefaultScope
    try:
        # in the scope the Runner builds it in, whatever scope an earlier
        # run in this process left current
        with DefaultScope.overwrite_default_scope(
                cfg.get('default_scope', 'mmkd')):
            HOOKS.build(copy.deepcopy(hook))
    except (KeyError, TypeError) as exc:
        message = ' '.join(str(exc).strip('"\'').split())
        raise ConfigError(f'default_hooks.nonfinite: {message}; fix it, '
                          "e.g. dict(type='NonFiniteLossHook', "
                          "policy='skip', max_skip_share=0.1)") from None


def _cpu_process_group(cfg: Config) -> None:
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if torch_dist.is_initialized():
        return
    missing = [
        k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if k not in os.environ
    ]
    if missing:
        raise SystemExit(
            f'error: --launcher pytorch needs the environment variables '
            f'{missing}; start the job with tools/dist_train.sh or torchrun')
    timeout = datetime.timedelta(seconds=int(dist_cfg.get('timeout', 1800)))
    torch_dist.init_process_group(backend='gloo', timeout=timeout)


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Prepare distributed training; a no-op for ``launcher='none'``."""
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise SystemExit(
            f'error: --launcher {launcher} needs GPUs; on a machine without '
            'GPUs use --launcher pytorch (tools/dist_train.sh / torchrun)')
    _cpu_process_group(cfg)
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    # An explicit None wins over the Runner's default [LOCAL_RANK].
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def configure_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mixed precision.

    mmkd's ``AutocastOptimWrapper`` everywhere: bf16 autocast on CPU (no
    loss scale needed) and fp16 with a dynamic loss scale on GPU (as
    MMEngine's ``AmpOptimWrapper``, whose GPU-only check refuses CPUs). An
    ``optim_wrapper.dtype`` in the config wins; fp16 is only accepted with
    dynamic loss scaling.
    """
    optim_wrapper = cfg.optim_wrapper
    if optim_wrapper.get('type',
                         'OptimWrapper') not in ('OptimWrapper',
                                                 'AmpOptimWrapper',
                                                 'AutocastOptimWrapper'):
        raise SystemExit(
            f'error: --amp cannot change optim_wrapper.type='
            f'{optim_wrapper.type!r}; set a mixed-precision wrapper in the '
            'config instead')
    dtype = optim_wrapper.get('dtype') or (
        'float16' if torch.cuda.is_available() else 'bfloat16')
    dtype = str(dtype).replace('torch.', '')
    loss_scale = optim_wrapper.get('loss_scale', 'dynamic')
    if dtype == 'float16' and not (loss_scale == 'dynamic'
                                   or isinstance(loss_scale, dict)):
        raise SystemExit(
            f'error: --amp with float16 needs dynamic loss scaling, but '
            f'optim_wrapper.loss_scale={loss_scale!r}; remove it or set '
            "loss_scale='dynamic'")
    if not torch.cuda.is_available():
        check_cpu_amp_types(cfg.get('model'))
    optim_wrapper.type = 'AutocastOptimWrapper'
    optim_wrapper.dtype = dtype
    optim_wrapper.loss_scale = loss_scale


# MMDetection's types whose mmcv ops (NMS, RoIAlign) take float32 only on
# CPU, and mmkd's variants that hand them float32 (mmkd/models/amp_safe.py).
AMP_SAFE_TYPES = dict(
    RPNHead='AmpSafeRPNHead', SingleRoIExtractor='AmpSafeRoIExtractor')


def check_cpu_amp_types(node, key: str = 'model') -> None:
    """Refuse MMDetection's RPN head and RoI extractor in a model config
    that is to run under bf16 autocast on CPU, naming the key and mmkd's
    variant (mmcv's CPU kernels would fail deep inside the first step)."""
    if isinstance(node, dict):
        model_type = node.get('type')
        name = getattr(model_type, '__name__', model_type)
        name = name.split('.')[-1] if isinstance(name, str) else ''
        if name in AMP_SAFE_TYPES and not (isinstance(model_type, str)
                                           and model_type.startswith('mmkd.')):
            raise SystemExit(
                f'error: --amp on CPU: {key}.type={name!r} runs mmcv\'s '
                'NMS / RoIAlign in bfloat16, which their CPU kernels refuse; '
                f"use type='{AMP_SAFE_TYPES[name]}' (the same module with "
                'float32 inputs for those ops), or train without --amp')
        for sub, value in node.items():
            check_cpu_amp_types(value, f'{key}.{sub}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            check_cpu_amp_types(value, f'{key}.{i}')


def teardown_launcher() -> None:
    """Let every rank finish, then close the process group.

    Without it a rank can exit while gloo's threads are still alive, which
    aborts that process ("terminate called without an active exception")
    and fails the torchrun job after a successful run.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


# Runners built in this process so far.
_RUNS = itertools.count()


def isolate_run(cfg: Config) -> None:
    """Give every run in this process its own visualizer, and a second run
    its own logger and message hub.

    MMEngine keeps them as named global instances and hands back an existing
    one by name: the visualizer is named ``'visualizer'`` in every config
    (and in anything else that built one from it in this process), the
    others ``<config>_<timestamp>``, the same for two runs started in the
    same second. A run that got another's instances would write its scalars
    into that run's folder and start from its message hub (a notebook, a
    sweep or the tests train several times in one process).
    """
    run = next(_RUNS)
    if isinstance(cfg.get('visualizer'), dict):
        vis_name = cfg.visualizer.get('name', 'visualizer')
        cfg.visualizer.name = f'{_unsuffixed(vis_name)}-run{run}'
    if run:
        name = cfg.get('experiment_name') or osp.splitext(
            osp.basename(cfg.filename or 'run'))[0]
        cfg.experiment_name = f'{_unsuffixed(name)}-run{run}'


def _unsuffixed(name: str) -> str:
    """``name`` without the suffix ``isolate_run`` adds (a dumped config
    of a run holds it)."""
    return re.sub(r'-run\d+$', '', name)


def build_runner(cfg: Config) -> Runner:
    isolate_run(cfg)
    memoize_config_text()  # the config's text is formatted once, not per save
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def _build_error(exc: Exception) -> str:
    """The user's mistake in a registry or argument error of a build, or
    None for any other error (a bug keeps its traceback)."""
    # MMEngine prefixes nested build errors with "class `X` in file: ".
    message = re.sub(r'class `\w+` in [^:]+: ', '', str(exc)).strip('"\'')
    if isinstance(exc, KeyError) and 'registry' in message:
        return (f'model: {message.split(". ")[0]}; check the spelling of '
                'that `type` in the model config')
    if isinstance(exc, TypeError) and 'unexpected keyword' in message:
        return (f'model: {message}; remove that key from the model config '
                'or check its spelling')
    return None


def check_model(cfg: Config) -> dict:
    """Build the model once, as the Runner will, and return the shapes of
    its ``state_dict()``.

    Every build-time check (unknown types and arguments, the teacher
    checkpoint, teacher-student pairing, loss arguments) then fails here,
    before the Runner writes anything or prints the environment and the
    config. The random generators are left as they were.

    Returns:
        dict: ``{key: shape}`` that a checkpoint of this model must hold.
    """
    from mmengine.registry import init_default_scope
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    init_default_scope(cfg.get('default_scope', 'mmkd'))
    with kept_rng_states():
        try:
            model = MODELS.build(model_cfg)
        except (KeyError, TypeError) as exc:
            message = _build_error(exc)
            if message is None:
                raise
            raise ConfigError(message) from None
    if trains_channels_last(cfg):
        check_layout_free(model)  # before anything is written
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_work_dir(work_dir: str, resume_meta: Optional[dict]) -> None:
    """Refuse a run that would overwrite an earlier run's checkpoints.

    Args:
        work_dir (str): where the run writes its checkpoints.
        resume_meta (dict, optional): ``meta`` of the checkpoint the run
            resumes from (its ``epoch`` and ``iter``); None for a new run.

    Raises:
        ConfigError: ``work_dir`` holds checkpoints that a new run (or a
            resume from an older checkpoint) would overwrite (that it is not
            a file, ``set_work_dir`` checked).
    """
    steps = step_checkpoints(work_dir)
    if resume_meta is None:
        # What a new run would write: epoch_N / iter_N and best_* (the hook
        # deletes the previous best one).
        held = sorted(osp.basename(p) for p in steps) + sorted(
            osp.basename(p)
            for p in glob.glob(osp.join(glob.escape(work_dir), 'best_*.pth')))
        if held:
            raise ConfigError(
                f'work_dir {work_dir!r} holds the checkpoints of an earlier '
                f'run ({describe_keys(held, 4)}); continue that run with '
                '--resume, or start a new one in another directory with '
                '--work-dir DIR (nothing was overwritten)')
        return
    newer = sorted(
        osp.basename(p) for p, (kind, step) in steps.items()
        if step > int(resume_meta.get(kind, 0) or 0))
    if newer:
        raise ConfigError(
            f'resuming from epoch {resume_meta.get("epoch")} / iteration '
            f'{resume_meta.get("iter")} would overwrite the newer '
            f'checkpoints {describe_keys(newer, 4)} in {work_dir!r}; resume '
            'from the latest one with --resume (no path), or resume into '
            'another directory with --work-dir DIR')


def nothing_to_resume(work_dir: str) -> str:
    """The message for ``--resume`` (no path) into a work dir without a
    checkpoint: missing, empty or mistyped; names a sibling folder with
    checkpoints whose name is close."""
    parent, name = osp.split(osp.normpath(work_dir))
    siblings = [
        d for d in (
            os.listdir(parent or '.') if osp.isdir(parent or '.') else [])
        if d != name and step_checkpoints(osp.join(parent, d))
    ]
    close = difflib.get_close_matches(name, siblings, n=1, cutoff=0.6)
    hint = (f' (did you mean {osp.join(parent, close[0])!r}?)'
            if close else '')
    state = ('does not exist' if not osp.exists(work_dir) else
             'holds no checkpoint (epoch_N.pth / iter_N.pth)')
    return (f'--resume: work_dir {work_dir!r} {state}, so there is no run '
            f'to continue{hint}; give the run\'s folder with --work-dir DIR '
            '(or a checkpoint with --resume PATH), or drop --resume to start '
            'a new run')


_TRAINING_KEYS = ('meta', 'optimizer', 'message_hub')


def read_resume_checkpoint(path: str) -> dict:
    """Read the checkpoint ``--resume`` continues from and check that it is
    a complete training checkpoint.

    Raises:
        CheckpointError: it cannot be read (naming the previous complete
            checkpoint next to it, if any), or it is not a training
            checkpoint (no optimizer state, message hub or epoch / iter).
    """
    try:
        checkpoint = read_checkpoint(path, '--resume')
    except CheckpointError as exc:
        previous = previous_complete(path)
        offer = (f' The previous complete checkpoint is {previous!r}: '
                 f'resume from it with --resume {previous}'
                 if previous else ' No earlier complete checkpoint is next '
                 'to it; start a new run with --work-dir DIR')
        raise CheckpointError(f'{exc}{offer}') from None
    meta = checkpoint.get('meta')
    missing = [k for k in _TRAINING_KEYS if k not in checkpoint]
    if not missing and not ('epoch' in meta and 'iter' in meta):
        missing = ['meta.epoch / meta.iter']
    if missing:
        raise CheckpointError(
            f'--resume {path!r} is not a training checkpoint (it has no '
            f'{", ".join(missing)}: an exported student, a teacher or a '
            'converted model?); to train from its weights without resuming, '
            f'drop --resume and pass --cfg-options load_from={path}')
    return checkpoint
