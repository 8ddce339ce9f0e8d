"""Adaptation layer of the hint loss (Chen et al., NIPS 2017).

    L_hint = || adapt(V_student) - Z_teacher ||^2

``adapt`` maps the student's guided-layer channels to the teacher's
hint-layer channels; the paper uses a 1x1 convolution. It is a
training-time module of the distiller and is not part of the exported
student.
"""
from typing import Optional, Union

from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmkd.registry import MODELS

# A linear map that keeps the feature variance (gain 1 over fan-in), so the
# hint loss starts at the scale of the teacher features.
DEFAULT_INIT_CFG = dict(
    type='Kaiming', layer='Conv2d', mode='fan_in', nonlinearity='linear')


@MODELS.register_module()
class HintAdapter(BaseModule):
    """Conv (1x1 by default) -> optional norm -> optional activation.

    Args:
        in_channels (int): Channels of the student's guided feature map.
        out_channels (int): Channels of the teacher's hint feature map.
        kernel_size (int): 1 (the paper) or 3 (with padding 1); the spatial
            size is kept either way. Defaults to 1.
        norm_cfg (dict, optional): Norm layer config, e.g. ``dict(type='BN')``.
            With a norm the conv has no bias. Defaults to None.
        act_cfg (dict, optional): Activation config, e.g.
            ``dict(type='ReLU')``. Defaults to None (a linear adapter).
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to Kaiming normal, fan-in, gain 1, zero bias.

    Shape:
        - Input: ``(N, in_channels, H, W)``.
        - Output: ``(N, out_channels, H, W)``.
    """

    def __init__(
            self,
            in_channels: int,
            out_channels: int,
            kernel_size: int = 1,
            norm_cfg: Optional[dict] = None,
            act_cfg: Optional[dict] = None,
            init_cfg: Optional[Union[dict, list]] = DEFAULT_INIT_CFG) -> None:
        super().__init__(init_cfg=init_cfg)
        if kernel_size not in (1, 3):
            raise ValueError('HintAdapter: kernel_size must be 1 or 3, got '
                             f'{kernel_size!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            bias=norm_cfg is None)
        self.norm = None
        if norm_cfg is not None:
            _, self.norm = build_norm_layer(norm_cfg, out_channels)
        self.act = None
        if act_cfg is not None:
            self.act = build_activation_layer(act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, in_channels, H, W)`` to ``(N, out_channels, H, W)``."""
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'HintAdapter expects (N, {self.in_channels}, H, W) input, '
                f'got {tuple(x.shape)}; check in_channels in the adapter '
                'config against the student feature it adapts')
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.act is not None:
            x = self.act(x)
        return x
