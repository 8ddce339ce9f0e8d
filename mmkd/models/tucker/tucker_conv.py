"""Tucker-2 decomposed convolution (Kim et al., ICLR 2016).

A ``kxk`` convolution ``W`` of shape ``(C_out, C_in, k, k)`` is approximated
by the Tucker-2 product ``W ~= core x_0 U_out x_1 U_in`` and computed as three
convolutions::

    in_proj  1x1  C_in  -> R_in   (no bias)      weight U_in^T
    core     kxk  R_in  -> R_out  (no bias)      stride / padding of W
    out_proj 1x1  R_out -> C_out  (bias of W)    weight U_out

The parameter names are ``<conv>.in_proj.weight``, ``<conv>.core.weight``,
``<conv>.out_proj.weight`` and ``<conv>.out_proj.bias``.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmkd.registry import MODELS


def _check_ranks(ranks: Sequence[int], in_channels: int,
                 out_channels: int) -> Tuple[int, int]:
    if len(ranks) != 2:
        raise ValueError(f'Tucker ranks must be a pair (r_in, r_out), got '
                         f'{ranks!r}.')
    r_in, r_out = int(ranks[0]), int(ranks[1])
    if not (1 <= r_in <= in_channels and 1 <= r_out <= out_channels):
        raise ValueError(
            f'Tucker ranks (r_in={r_in}, r_out={r_out}) must satisfy '
            f'1 <= r_in <= {in_channels} (input channels) and '
            f'1 <= r_out <= {out_channels} (output channels); lower the '
            f'ranks in `tucker_ranks`.')
    return r_in, r_out


@MODELS.register_module()
class TuckerConv2d(nn.Module):
    """A ``kxk`` convolution factored as 1x1 -> kxk core -> 1x1.

    Args:
        in_channels (int): Input channels ``C_in``.
        out_channels (int): Output channels ``C_out``.
        kernel_size (int): Kernel size ``k`` of the core.
        ranks (Sequence[int]): ``(R_in, R_out)``, the Tucker-2 ranks along
            the input and output channel modes.
        stride (int): Stride of the core. Defaults to 1.
        padding (int): Padding of the core. Defaults to 0.
        bias (bool): Whether ``out_proj`` has a bias. Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 ranks: Sequence[int],
                 stride: int = 1,
                 padding: int = 0,
                 bias: bool = True) -> None:
        super().__init__()
        r_in, r_out = _check_ranks(ranks, in_channels, out_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.ranks = (r_in, r_out)
        self.in_proj = nn.Conv2d(in_channels, r_in, 1, bias=False)
        self.core = nn.Conv2d(
            r_in,
            r_out,
            kernel_size,
            stride=stride,
            padding=padding,
            bias=False)
        self.out_proj = nn.Conv2d(r_out, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply in_proj, core and out_proj.

        Args:
            x (Tensor): ``(N, C_in, H, W)``.

        Returns:
            Tensor: ``(N, C_out, H', W')``, as the original convolution.
        """
        return self.out_proj(self.core(self.in_proj(x)))

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, factors: Tuple[torch.Tensor,
                                                       ...]) -> 'TuckerConv2d':
        """Build the decomposed layer of ``conv`` from Tucker-2 factors.

        Args:
            conv (nn.Conv2d): The original convolution (``groups=1``,
                square kernel, no dilation).
            factors (tuple[Tensor]): ``(in_proj (R_in, C_in, 1, 1),
                core (R_out, R_in, k, k), out_proj (C_out, R_out, 1, 1))``
                as returned by
                :func:`mmkd.models.tucker.decompose.tucker2_decompose`.

        Returns:
            TuckerConv2d: The layer, on ``conv``'s device and dtype.
        """
        if conv.groups != 1 or conv.dilation != (1, 1):
            raise ValueError(
                'Tucker-2 decomposition supports plain convolutions only '
                f'(groups=1, dilation=1); got groups={conv.groups}, '
                f'dilation={conv.dilation}.')
        in_proj, core, out_proj = factors
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size[0],
            ranks=(core.shape[1], core.shape[0]),
            stride=conv.stride[0],
            padding=conv.padding[0],
            bias=conv.bias is not None)
        layer.to(device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            layer.in_proj.weight.copy_(in_proj)
            layer.core.weight.copy_(core)
            layer.out_proj.weight.copy_(out_proj)
            if conv.bias is not None:
                layer.out_proj.bias.copy_(conv.bias)
        return layer


def build_conv(in_channels: int,
               out_channels: int,
               kernel_size: int,
               stride: int,
               padding: int,
               tucker_ranks: Optional[Sequence[int]] = None) -> nn.Module:
    """A plain ``nn.Conv2d`` or, given ranks, its :class:`TuckerConv2d`."""
    if tucker_ranks is None:
        return nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding)
    return TuckerConv2d(
        in_channels,
        out_channels,
        kernel_size,
        ranks=tucker_ranks,
        stride=stride,
        padding=padding)
