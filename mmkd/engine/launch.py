"""Launch helpers shared by ``tools/train.py`` and ``tools/test.py``.

The one thing MMEngine does not do for us is distributed training on
machines without GPUs: its ``init_dist('pytorch')`` calls
``torch.cuda.set_device`` and its default DDP wrapping passes
``device_ids=[LOCAL_RANK]``, both of which fail on CPU. Here the ``gloo``
process group is initialised before the Runner (which then skips its own
initialisation) and the model is wrapped with ``device_ids=None``.
"""
import argparse
import datetime
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmkd.registry import RUNNERS


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """The arguments ``tools/train.py`` and ``tools/test.py`` share."""
    parser.add_argument(
        '--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs in xxx=yyy '
        'format, e.g. train_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launch_args(parser: argparse.ArgumentParser, argv=None):
    """Parse; export ``LOCAL_RANK`` for launchers that pass it as a flag."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def set_work_dir(cfg: Config, args) -> None:
    """``--work-dir``, else the config's, else ``work_dirs/CONFIG_NAME``."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        name = os.path.splitext(os.path.basename(args.config))[0]
        cfg.work_dir = os.path.join('./work_dirs', name)


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
    if dtype == 'float16' and not (loss_scale == 'dynamic' or isinstance(
            loss_scale, dict)):
        raise SystemExit(
            f'error: --amp with float16 needs dynamic loss scaling, but '
            f'optim_wrapper.loss_scale={loss_scale!r}; remove it or set '
            "loss_scale='dynamic'")
    optim_wrapper.type = 'AutocastOptimWrapper'
    optim_wrapper.dtype = dtype
    optim_wrapper.loss_scale = loss_scale


def teardown_launcher() -> None:
    """Let every rank finish, then close the process group.

    Without it a rank can exit while gloo's threads are still alive, which
    aborts that process ("terminate called without an active exception")
    and fails the torchrun job after a successful run.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def build_runner(cfg: Config) -> Runner:
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
