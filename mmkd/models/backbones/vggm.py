"""VGG-M (Chatfield et al., BMVC 2014) as a Faster R-CNN trunk.

conv1 96x7x7/2 + LRN + max-pool, conv2 256x5x5/2 + LRN + max-pool,
conv3-conv5 512x3x3, all with ReLU, and **no pool5**: output stride 16 with
512 channels (the ``VGG_CNN_M`` trunk of Fast/Faster R-CNN).

Paddings are ours, so that an ``H x W`` input gives exactly
``ceil(H / 16) x ceil(W / 16)`` (the VGG16 trunk's grid): conv1 padding 3
(Caffe 0), conv2 padding 2 (Caffe 1), 3x3/2 max-pools padding 1 (Caffe 0,
rounding up). Each strided layer then halves ``H`` rounding up. Padding has
no parameters, so Caffe weights load unchanged.

Parameter names: ``conv1.weight`` ... ``conv5.bias`` (see :mod:`.plain_trunk`).
"""
from mmkd.registry import MODELS
from .plain_trunk import DEFAULT_INIT_CFG, PlainTrunk

# LRN of VGG_CNN_M's Caffe model: local_size 5, alpha 5e-4, beta 0.75, k 2
# (Chatfield et al., 2014, Table 1 "LRN" with Caffe's alpha / n convention).
_LRN = (5, 5e-4, 0.75, 2.0)


@MODELS.register_module()
class VGGM(PlainTrunk):
    """VGG-M conv1-conv5, stride 16, one output map of 512 channels.

    Args:
        frozen_stages (int): Defaults to 1 (conv1 frozen): "for models S
            and M we fine-tune layers conv2 and up" (Girshick, 2015,
            Sec. 4.5). -1 trains all.
        **kwargs: See :class:`PlainTrunk`.
    """
    # Chatfield et al. (2014), Table 1, column "CNN-M".
    arch_settings = (
        (('conv', 'conv1', 96, 7, 2, 3), ('lrn', 'lrn1') + _LRN,
         ('pool', 'pool1', 3, 2, 1, False)),
        (('conv', 'conv2', 256, 5, 2, 2), ('lrn', 'lrn2') + _LRN,
         ('pool', 'pool2', 3, 2, 1, False)),
        (('conv', 'conv3', 512, 3, 1, 1), ),
        (('conv', 'conv4', 512, 3, 1, 1), ),
        (('conv', 'conv5', 512, 3, 1, 1), ),
    )

    def __init__(self,
                 frozen_stages: int = 1,
                 init_cfg=DEFAULT_INIT_CFG,
                 **kwargs) -> None:
        super().__init__(
            self.arch_settings,
            frozen_stages=frozen_stages,
            init_cfg=init_cfg,
            **kwargs)
