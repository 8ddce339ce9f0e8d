"""Shared machinery of the plain (VGG / AlexNet style) detection trunks.

The trunks follow the Faster R-CNN papers' "C4" use of these networks: the
layers up to conv5 (ReLU included), **without** the last max-pooling, so the
single output map has stride 16; RoI pooling then replaces pool5 and the
RoI head's ``shared_fcs.0`` / ``shared_fcs.1`` play fc6 / fc7.

Parameter layout (what the weight converters rely on): every convolution is
a direct child named as in the original Caffe models (``conv1_1`` ...
``conv5_3`` for VGG16, ``conv1`` ... ``conv5`` for AlexNet and VGG-M), so a
detector's keys read ``backbone.conv3_1.weight`` / ``backbone.conv3_1.bias``.
With ``norm_cfg`` a norm layer follows each conv as ``bn<suffix>`` (e.g.
``bn3_1``); a Tucker-decomposed conv keeps its name and holds ``in_proj``,
``core`` and ``out_proj`` (see :class:`mmkd.models.tucker.TuckerConv2d`).
ReLU, LRN (``lrn<i>``) and pooling (``pool<i>``) layers have no parameters.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ..tucker.tucker_conv import build_conv

# Layer specs of ``arch_settings`` (one tuple per stage):
#   ('conv', name, out_channels, kernel, stride, padding)
#   ('lrn', name, size, alpha, beta, k)       -- Caffe LRN across channels
#   ('pool', name, kernel, stride, padding, ceil_mode)
ArchSettings = Tuple[Tuple[tuple, ...], ...]

DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer='Conv2d'),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
]


class PlainTrunk(BaseModule):
    """A plain conv trunk built from ``arch_settings`` (see module doc).

    Stage ``i`` (1-based) holds ``conv<i>*`` with the LRN / pooling that
    follow it; ``frozen_stages`` counts these stages.

    Args:
        arch_settings (ArchSettings): The stages, see the module doc.
        in_channels (int): Input image channels. Defaults to 3.
        width_mult (float): Multiplier of every conv's output channels
            (rounded, at least 1); < 1 shrinks the trunk for tests.
        frozen_stages (int): Stages ``1..frozen_stages`` get
            ``requires_grad=False`` and stay in eval mode; -1 or 0 freezes
            nothing.
        norm_cfg (dict, optional): Norm layer after each conv (e.g.
            ``dict(type='BN')``); None (the originals) for none.
        norm_eval (bool): Keep all BN layers in eval mode during training.
        out_indices (Sequence[int]): 0-based stages whose outputs are
            returned; defaults to the last stage (conv5, stride 16).
        tucker_ranks (dict, optional): ``{conv name: (R_in, R_out)}``; those
            convs become :class:`TuckerConv2d` (1x1 -> kxk -> 1x1).
        init_cfg (dict | list[dict], optional): MMEngine init config.
    """

    def __init__(self,
                 arch_settings: ArchSettings,
                 in_channels: int = 3,
                 width_mult: float = 1.0,
                 frozen_stages: int = -1,
                 norm_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 out_indices: Optional[Sequence[int]] = None,
                 tucker_ranks: Optional[Dict[str, Sequence[int]]] = None,
                 init_cfg=DEFAULT_INIT_CFG) -> None:
        super().__init__(init_cfg=init_cfg)
        num_stages = len(arch_settings)
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be in [-1, {num_stages}], '
                             f'got {frozen_stages}.')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.out_indices = tuple(i % num_stages
                                 for i in (out_indices or (num_stages - 1, )))
        self._check_tucker_names(arch_settings, tucker_ranks or {})
        self.relu = nn.ReLU(inplace=True)
        self.stages: List[List[str]] = []
        self.stage_channels: List[int] = []
        channels = in_channels
        for stage in arch_settings:
            names, channels = self._make_stage(stage, channels, width_mult,
                                               norm_cfg, tucker_ranks or {})
            self.stages.append(names)
            self.stage_channels.append(channels)
        self.out_channels = self.stage_channels[self.out_indices[-1]]
        self._freeze_stages()

    @staticmethod
    def _check_tucker_names(arch_settings: ArchSettings,
                            tucker_ranks: dict) -> None:
        convs = [
            s[1] for stage in arch_settings for s in stage if s[0] == 'conv'
        ]
        unknown = sorted(set(tucker_ranks) - set(convs))
        if unknown:
            raise KeyError(f'tucker_ranks names unknown convs {unknown}; '
                           f'valid names are {convs}.')

    def _make_stage(self, stage: tuple, channels: int, width_mult: float,
                    norm_cfg: Optional[dict],
                    tucker_ranks: dict) -> Tuple[List[str], int]:
        names = []
        for kind, name, *args in stage:
            if kind == 'conv':
                out_channels = max(1, int(round(args[0] * width_mult)))
                self.add_module(
                    name,
                    build_conv(
                        channels,
                        out_channels,
                        *args[1:],
                        tucker_ranks=tucker_ranks.get(name)))
                names.append(name)
                if norm_cfg is not None:
                    bn_name = name.replace('conv', 'bn', 1)
                    self.add_module(
                        bn_name,
                        build_norm_layer(norm_cfg, out_channels)[1])
                    names.append(bn_name)
                names.append('relu')
                channels = out_channels
            elif kind == 'lrn':
                self.add_module(name, nn.LocalResponseNorm(*args))
                names.append(name)
            elif kind == 'pool':
                kernel, stride, padding, ceil_mode = args
                self.add_module(
                    name,
                    nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode))
                names.append(name)
            else:
                raise ValueError(f'Unknown layer kind {kind!r} in stage '
                                 f'{stage!r}.')
        return names, channels

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run the trunk.

        Args:
            x (Tensor): Images ``(N, 3, H, W)``.

        Returns:
            tuple[Tensor]: One map per ``out_indices``; by default the conv5
            map ``(N, C5, ceil(H / 16), ceil(W / 16))``.
        """
        outs = []
        for i, names in enumerate(self.stages):
            for name in names:
                x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for names in self.stages[:max(self.frozen_stages, 0)]:
            for name in names:
                module = getattr(self, name)
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'PlainTrunk':
        """Set train mode, keeping frozen stages (and BN if asked) in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
