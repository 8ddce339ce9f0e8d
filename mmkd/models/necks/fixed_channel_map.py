"""A fixed (not learned) channel map: the "no adaptation layer" ablation.

Without an adaptation layer (Chen et al., NIPS 2017, Sec. 3.3) the student's
guided layer must reproduce the teacher's hint layer directly. Where the
channel counts differ, some fixed map must still pair them; this one repeats
each student channel over a block of teacher channels (``out / in`` of them),
so student channel ``i`` is compared with teacher channels
``i * k ... (i + 1) * k - 1`` (``k = out / in``). It has no parameters, so
nothing about the mapping is learned.
"""
from torch import Tensor, nn

from mmkd.registry import MODELS


@MODELS.register_module()
class FixedChannelMap(nn.Module):
    """``(N, C_in, H, W) -> (N, C_out, H, W)`` by repeating channels.

    Args:
        in_channels (int): Channels of the student's guided map.
        out_channels (int): Channels of the teacher's hint map, a multiple
            of ``in_channels`` (equal: the identity).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if in_channels < 1 or out_channels % in_channels:
            raise ValueError(
                f'FixedChannelMap: out_channels={out_channels} must be a '
                f'multiple of in_channels={in_channels}; use a HintAdapter '
                'for other channel counts')
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'FixedChannelMap expects (N, {self.in_channels}, H, W) '
                f'input, got {tuple(x.shape)}')
        return x.repeat_interleave(self.out_channels // self.in_channels, 1)
