"""Run by test_ddp_rows.py under torchrun (2 processes, gloo, CPU).

    python -m torch.distributed.run --nproc_per_node 2 \
        tests/test_models/test_distillers/ddp_rows_worker.py OUT_DIR

1. Every row of the reproduction (``mmkd.demo.ablations.ROWS``): the row's
   distillation settings and ``--cfg-options`` on the tiny configs
   (``tests/configs/tiny_kd.py`` with the tiny student and teacher of the
   row's families, ``tiny_frcnn.py`` / ``tiny_mask_rcnn.py`` for a plain
   detector),
   wrapped as ``tools/train.py --launcher pytorch`` wraps it on CPU
   (``MMDistributedDataParallel``, ``find_unused_parameters=False``), two
   training steps; records errors, parameters left without a gradient and
   whether the replicas agree.
2. the non-finite guard (``NonFiniteGuard``, as ``NonFiniteLossHook``
   installs it) with ``policy='skip'`` and a NaN on rank 1 only: both ranks
   skip, and the next step trains again.

Each rank writes ``OUT_DIR/rank{RANK}.json``.
"""
import datetime
import json
import os.path as osp
import sys

import torch
import torch.distributed as dist

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY_KD = osp.join(ROOT, 'tests', 'configs', 'tiny_kd.py')
TINY_DET = osp.join(ROOT, 'tests', 'configs', 'tiny_frcnn.py')
# Distiller keys that describe the pair of networks, not the method: the
# tiny pair keeps its own.
PAIR_KEYS = ('type', 'student', 'teacher', 'teacher_ckpt', 'adapters',
             'hint_levels', 'data_preprocessor', 'init_cfg')


def tiny_detector(model: dict) -> str:
    """The tiny config of a detector's family (Faster, Mask, Cascade R-CNN)
    and width (teacher or student)."""
    family = {
        'MaskRCNN': 'tiny_mask_rcnn',
        'CascadeRCNN': 'tiny_cascade_rcnn'
    }.get(model['type'], 'tiny_frcnn')
    teacher = model['backbone']['base_channels'] >= 32
    return osp.join(ROOT, 'tests', 'configs',
                    family + ('_teacher' if teacher else '') + '.py')


def tiny_config(config: str, options: list):
    """The tiny equivalent of a row: its distillation settings (losses,
    mu, ...) on the tiny pair of the row's families, then the row's
    ``--cfg-options``."""
    from mmengine.config import Config, DictAction

    from mmkd.models.distillers.export import is_distiller, teacher_model_cfg
    row_cfg = Config.fromfile(osp.join(ROOT, config))
    if not is_distiller(row_cfg.model):
        cfg = Config.fromfile(tiny_detector(row_cfg.model))
    else:
        cfg = Config.fromfile(TINY_KD)
        for key, value in row_cfg.model.items():
            if key not in PAIR_KEYS:
                cfg.model[key] = value
        cfg.model.student = Config.fromfile(
            tiny_detector(row_cfg.model.student)).model
        cfg.model.teacher = tiny_detector(teacher_model_cfg(row_cfg.model))
        cfg.model.teacher_ckpt = None
        cfg.model.random_teacher = True  # the mechanics, not the teacher
    cfg.merge_from_dict({
        key: DictAction._parse_iterable(value)
        for key, value in (opt.split('=', 1) for opt in options)
    })
    return cfg


def batch(seed: int) -> dict:
    """Two 64 px images with boxes and masks (for Mask R-CNN rows)."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    return demo_mm_inputs(
        2, [(3, 64, 64)] * 2, num_items=[3, 2], num_classes=6, with_mask=True)


def wrapped(cfg):
    """The model as ``tools/train.py --launcher pytorch`` wraps it."""
    from mmengine.registry import MODEL_WRAPPERS

    from mmkd.engine.launch import setup_launcher
    from mmkd.registry import MODELS
    setup_launcher(cfg, 'pytorch')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    wrapper_cfg = dict(cfg.model_wrapper_cfg)
    assert wrapper_cfg['find_unused_parameters'] is False
    return MODEL_WRAPPERS.build(wrapper_cfg, default_args=dict(module=model))


def recording_optimizer(ddp, **sgd):
    """An ``OptimWrapper`` that records, at each step, the trainable
    parameters without a gradient."""
    from mmengine.optim import OptimWrapper
    names = {id(p): n for n, p in ddp.module.named_parameters()}

    class Recording(OptimWrapper):
        no_grad = []

        def step(self, **kwargs):
            self.no_grad.append([
                names[id(p)] for group in self.optimizer.param_groups
                for p in group['params'] if p.requires_grad and p.grad is None
            ])
            super().step(**kwargs)

    params = [p for p in ddp.module.parameters() if p.requires_grad]
    return Recording(torch.optim.SGD(params, lr=0.01, **sgd))


def run_row(config: str, options: list, rank: int) -> dict:
    ddp = wrapped(tiny_config(config, options))
    optim = recording_optimizer(ddp, momentum=0.9)
    losses = []
    for step in range(2):
        log_vars = ddp.train_step(batch(10 * step + rank), optim)
        losses.append(float(log_vars['loss']))
    flat = torch.cat([p.detach().flatten() for p in ddp.module.parameters()])
    return dict(
        losses=losses,
        no_grad=optim.no_grad,
        param_sum=float(flat.double().sum()),
        terms=sorted(getattr(ddp.module, 'distill_losses', {}) or {}))


class NaNOnRank(torch.nn.Module):
    """A loss module that is NaN on ``rank`` at the given steps."""

    def __init__(self, loss, rank, steps):
        super().__init__()
        self.loss, self.rank, self.steps, self.step = loss, rank, steps, 0

    def forward(self, *args, **kwargs):
        value = self.loss(*args, **kwargs)
        hit = dist.get_rank() == self.rank and self.step in self.steps
        self.step += 1
        return value * float('nan') if hit else value


def run_skip(rank: int) -> dict:
    """Steps 0 and 2 are finite; at step 1 only rank 1's hint is NaN."""
    from mmengine.config import Config

    from mmkd.engine.nonfinite import NonFiniteGuard
    cfg = Config.fromfile(TINY_KD)
    cfg.model.random_teacher = True
    ddp = wrapped(cfg)
    guard = NonFiniteGuard(ddp.module, 'skip')
    guard.install()
    hint = ddp.module.distill_losses['hint']
    ddp.module.distill_losses['hint'] = NaNOnRank(hint, 1, {1})
    optim = recording_optimizer(ddp, momentum=0.9, weight_decay=1e-2)
    sums, skipped = [], []
    for step in range(3):
        guard.before_step()
        log_vars = ddp.train_step(batch(10 * step + rank), optim)
        skipped.append(float(log_vars.get('nonfinite_skipped', 0.0)))
        sums.append(
            float(
                sum(p.detach().double().sum()
                    for p in ddp.module.parameters())))
    return dict(skipped=skipped, param_sums=sums)


def main(out_dir: str) -> None:
    dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank()
    from mmengine.registry import init_default_scope

    import mmkd  # noqa: F401
    from mmkd.demo.ablations import ROWS
    init_default_scope('mmkd')
    results = {}
    for name, row in ROWS.items():
        config, options = row[1], row[2]
        try:
            results[name] = run_row(config, options, rank)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[name] = dict(error=f'{type(exc).__name__}: {exc}')
    results['_skip'] = run_skip(rank)
    with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(results, f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])
