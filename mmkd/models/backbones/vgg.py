"""VGG16 (Simonyan & Zisserman, 2015) as a Faster R-CNN trunk.

Layers conv1_1 ... conv5_3 (3x3, padding 1, ReLU) with 2x2/2 max-pooling
after stages 1-4 and **no pool5** (Ren et al., 2015: RoI pooling on conv5_3),
so the output has stride 16 and 512 channels. The pools round up
(``ceil_mode=True``, as Caffe's pooling does), so an ``H x W`` input gives a
``ceil(H / 16) x ceil(W / 16)`` map - the same grid as mmkd's AlexNet and
VGG-M trunks, which per-anchor RPN distillation needs.

Parameter names: ``conv1_1.weight`` ... ``conv5_3.bias`` (see
:mod:`.plain_trunk`); a torchvision ``features.N`` / Caffe ``convX_Y`` model
maps onto them with ``tools/model_converters/pretrained_to_mmkd.py``.
"""
from mmkd.registry import MODELS
from .plain_trunk import DEFAULT_INIT_CFG, PlainTrunk


def _vgg_stage(index: int, num_convs: int, channels: int, pool: bool) -> tuple:
    convs = tuple(('conv', f'conv{index}_{j}', channels, 3, 1, 1)
                  for j in range(1, num_convs + 1))
    # 2x2 / 2 max-pooling (Simonyan & Zisserman, 2015); ceil as in Caffe.
    return convs + ((('pool', f'pool{index}', 2, 2, 0, True), ) if pool else
                    ())


@MODELS.register_module()
class VGG16(PlainTrunk):
    """VGG16 conv1_1-conv5_3, stride 16, one output map of 512 channels.

    Args:
        frozen_stages (int): Defaults to 2: conv1_x and conv2_x are not
            fine-tuned in Fast/Faster R-CNN ("for VGG16 we fine-tune layers
            conv3_1 and up", Girshick, 2015, Sec. 4.5). -1 trains all.
        **kwargs: See :class:`PlainTrunk` (``width_mult``, ``norm_cfg``,
            ``norm_eval``, ``out_indices``, ``tucker_ranks``, ``init_cfg``).
    """
    # (stage index, number of 3x3 convs, channels), Table 1 column D of
    # Simonyan & Zisserman (2015).
    arch_settings = tuple(
        _vgg_stage(i, n, c, pool=i < 5)
        for i, n, c in ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512),
                        (5, 3, 512)))

    def __init__(self,
                 frozen_stages: int = 2,
                 init_cfg=DEFAULT_INIT_CFG,
                 **kwargs) -> None:
        super().__init__(
            self.arch_settings,
            frozen_stages=frozen_stages,
            init_cfg=init_cfg,
            **kwargs)
