"""Parameter counts and inference speed of detectors (or of the student of
a distillation config), shared by the demo and the analysis tools."""
import time
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from torch import nn


def build_deployed(cfg: Config,
                   checkpoint: Optional[str] = None,
                   strict: bool = False) -> nn.Module:
    """Build (and load) the deployed detector of ``cfg`` in eval mode.

    Args:
        strict (bool): refuse a checkpoint whose keys or shapes are not
            exactly the detector's (``CheckpointError``, one message), for
            measurements that depend on the weights. The default loads what
            fits, which is enough to time a model.
    """
    from mmengine.registry import init_default_scope

    from mmkd.engine.checkpoint import read_checkpoint, student_state_dict
    from mmkd.models.distillers.export import deployed_model_cfg, is_distiller
    from mmkd.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmkd'))
    model = MODELS.build(deployed_model_cfg(cfg.model))
    if checkpoint and strict:
        model.load_state_dict(_checked_state_dict(cfg, model, checkpoint))
    elif checkpoint:
        if is_distiller(cfg.model):
            ckpt = read_checkpoint(checkpoint)
            model.load_state_dict(
                student_state_dict(ckpt.get('state_dict', ckpt)))
        else:
            load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval()


def _checked_state_dict(cfg: Config, model: nn.Module, path: str) -> dict:
    """The weights of ``path`` for ``model`` (the student's, for a
    distillation config), checked key by key."""
    from mmkd.engine.checkpoint import (check_state_dict,
                                        checkpoint_state_dict,
                                        is_distiller_state, read_checkpoint,
                                        student_state_dict)
    from mmkd.models.distillers.export import is_distiller
    state_dict = checkpoint_state_dict(read_checkpoint(path))
    distilled = is_distiller_state(state_dict)
    if is_distiller(cfg.model) and distilled:
        state_dict = student_state_dict(state_dict)
    if is_distiller(cfg.model) != distilled:
        fix = ('It is a distillation checkpoint: give its distillation '
               'config.' if distilled else 'It is not a distillation '
               'checkpoint: give the detector config it was trained with.')
    else:
        fix = 'Give the config the checkpoint was trained with.'
    check_state_dict(
        model.state_dict(),
        state_dict,
        source=f'checkpoint {path!r}',
        target='model',
        fix=fix)
    return state_dict


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def time_inference(model: nn.Module,
                   batches: list,
                   *,
                   warmup: int = 3,
                   repeats: int = 1) -> dict:
    """Mean ms per image of ``model.test_step`` over ``batches``.

    Args:
        batches: data batches as the data loader yields them (one image
            each for a per-image time).
        warmup: batches run first and not timed.
        repeats: passes over ``batches``.
    """
    for data in batches[:warmup]:
        model.test_step(data)
    images, start = 0, time.perf_counter()
    for _ in range(repeats):
        for data in batches:
            model.test_step(data)
            images += len(data['inputs'])
    seconds = time.perf_counter() - start
    return dict(
        ms_per_image=1000.0 * seconds / max(images, 1),
        images_per_s=images / seconds if seconds else float('inf'),
        images=images)
