"""Tucker-2 decomposition of a trained detector's backbone convolutions.

The decomposed detector is an ordinary config + checkpoint: the config's
``model.backbone.tucker_ranks = {conv: [R_in, R_out]}`` makes mmkd's trunks
build :class:`~mmkd.models.tucker.TuckerConv2d` layers, and the checkpoint
holds their factors (``backbone.<conv>.in_proj / core / out_proj``) next to
the unchanged weights. ``tools/model_converters/tucker_decompose.py`` wraps
these helpers.
"""
import copy
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .decompose import select_ranks, tucker2_decompose, tucker2_reconstruct

Ranks = Dict[str, Tuple[int, int]]


def decomposable_convs(
        backbone: nn.Module,
        layers: Optional[Sequence[str]] = None) -> Dict[str, nn.Conv2d]:
    """The backbone's plain convolutions to decompose, by child name.

    Args:
        backbone (nn.Module): An mmkd trunk (convs are direct children).
        layers (Sequence[str], optional): Names to take; default every
            ``kxk`` (k > 1) conv with more than 3 input channels, i.e. all
            but the first one, whose 3-channel input mode has nothing to
            compress (Kim et al., 2016 keep it too).
    """
    convs = {
        name: m
        for name, m in backbone.named_children() if type(m) is nn.Conv2d
    }
    if layers is None:
        return {
            name: m
            for name, m in convs.items()
            if m.kernel_size[0] > 1 and m.in_channels > 3
        }
    unknown = sorted(set(layers) - set(convs))
    if unknown:
        raise KeyError(f'Layers {unknown} are not plain convolutions of the '
                       f'backbone; choose from {sorted(convs)}.')
    return {name: convs[name] for name in layers}


def choose_ranks(convs: Dict[str, nn.Conv2d],
                 method: str = 'energy',
                 energy: float = 0.9,
                 fixed: Optional[Ranks] = None) -> Ranks:
    """``{name: (R_in, R_out)}``: ``fixed`` ones, the others by ``method``.
    """
    fixed = fixed or {}
    unknown = sorted(set(fixed) - set(convs))
    if unknown:
        raise KeyError(f'--ranks names {unknown}, which are not among the '
                       f'decomposed layers {sorted(convs)}.')
    return {
        name:
        tuple(fixed[name]) if name in fixed else select_ranks(
            conv.weight, method, energy)
        for name, conv in convs.items()
    }


def decompose_state_dict(
        state_dict: Dict[str, torch.Tensor],
        convs: Dict[str, nn.Conv2d],
        ranks: Ranks,
        prefix: str = 'backbone.',
        n_iter: int = 0) -> Tuple[Dict[str, torch.Tensor], Dict[str, dict]]:
    """Replace each decomposed conv's weight / bias by its Tucker factors.

    Args:
        state_dict (dict): The detector's state dict (not modified).
        convs (dict): Name -> conv (shapes and layout only).
        ranks (Ranks): Name -> ``(R_in, R_out)``.
        prefix (str): Key prefix of the backbone. Defaults to 'backbone.'.
        n_iter (int): HOOI sweeps (see :func:`tucker2_decompose`).

    Returns:
        tuple[dict, dict]: The new state dict and, per layer, ``ranks``,
        ``params`` before / after and the relative reconstruction error.
    """
    new_state = dict(state_dict)
    report = {}
    for name, (r_in, r_out) in ranks.items():
        key = f'{prefix}{name}'
        weight = new_state.pop(f'{key}.weight')
        factors = tucker2_decompose(weight, (r_in, r_out), n_iter=n_iter)
        for part, tensor in zip(('in_proj', 'core', 'out_proj'), factors):
            new_state[f'{key}.{part}.weight'] = tensor.contiguous()
        if f'{key}.bias' in new_state:
            new_state[f'{key}.out_proj.bias'] = new_state.pop(f'{key}.bias')
        error = (tucker2_reconstruct(*factors) - weight).norm() / \
            weight.norm().clamp_min(1e-12)
        report[name] = dict(
            shape=tuple(weight.shape),
            ranks=(r_in, r_out),
            params_before=weight.numel(),
            params_after=sum(f.numel() for f in factors),
            rel_error=float(error))
    return new_state, report


def decomposed_model_cfg(model_cfg: dict,
                         ranks: Ranks,
                         checkpoint: Optional[str] = None) -> dict:
    """The detector config with ``backbone.tucker_ranks`` set.

    The backbone's own ``init_cfg`` is dropped and, given ``checkpoint``,
    the detector is initialised from it (``Pretrained``), so fine-tuning or
    distilling the decomposed student starts from the factors.
    """
    if 'backbone' not in model_cfg:
        raise KeyError('The config has no model.backbone; pass a detector '
                       'config (for a distillation config, its student).')
    cfg = copy.deepcopy(model_cfg)
    merged = dict(cfg['backbone'].get('tucker_ranks') or {})
    merged.update({k: [int(r) for r in v] for k, v in ranks.items()})
    cfg['backbone']['tucker_ranks'] = merged
    cfg['backbone'].pop('init_cfg', None)
    if checkpoint is not None:
        cfg['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint)
    return cfg
