"""AlexNet (Krizhevsky et al., 2012) as a Faster R-CNN trunk.

Layers conv1 ... conv5 with ReLU and **no pool5**; output stride 16.

Two channel layouts (``style``):

* ``'torchvision'`` (default, the layout of torchvision's ImageNet weights,
  Krizhevsky's "one weird trick" variant): 64-192-384-256-256, no LRN.
* ``'caffe'`` (BVLC AlexNet): 96-256-384-384-256 with LRN after conv1 and
  conv2. Caffe's grouped conv2/4/5 are dense here (groups=1); the weight
  converter expands grouped kernels block-diagonally (same function).

Paddings are ours, so that an ``H x W`` input gives exactly
``ceil(H / 16) x ceil(W / 16)`` (the VGG16 trunk's grid): conv1 11x11/4
padding 5 (torchvision 2, Caffe 0) -> ceil(H/4); the 3x3/2 max-pools get
padding 1 (originals 0) -> ceil(H/8), ceil(H/16). Padding has no parameters,
so pretrained weights are unaffected; only the border alignment moves by a
few pixels.

Parameter names: ``conv1.weight`` ... ``conv5.bias`` (see :mod:`.plain_trunk`).
"""
from mmkd.registry import MODELS
from .plain_trunk import DEFAULT_INIT_CFG, PlainTrunk

# Caffe's LRN of AlexNet: local_size 5, alpha 1e-4, beta 0.75, k 1
# (Krizhevsky et al., 2012, Sec. 3.3 with Caffe's alpha / n convention).
_LRN = (5, 1e-4, 0.75, 1.0)


def _arch(channels: tuple, lrn: bool) -> tuple:
    c1, c2, c3, c4, c5 = channels

    def norm(i):
        return (('lrn', f'lrn{i}') + _LRN, ) if lrn else ()

    return (
        (('conv', 'conv1', c1, 11, 4, 5), ) + norm(1) +
        (('pool', 'pool1', 3, 2, 1, False), ),
        (('conv', 'conv2', c2, 5, 1, 2), ) + norm(2) +
        (('pool', 'pool2', 3, 2, 1, False), ),
        (('conv', 'conv3', c3, 3, 1, 1), ),
        (('conv', 'conv4', c4, 3, 1, 1), ),
        (('conv', 'conv5', c5, 3, 1, 1), ),
    )


@MODELS.register_module()
class AlexNet(PlainTrunk):
    """AlexNet conv1-conv5, stride 16, one output map (256 channels).

    Args:
        style (str): ``'torchvision'`` or ``'caffe'`` (see module doc).
        frozen_stages (int): Defaults to 1 (conv1 frozen): "for models S
            and M we fine-tune layers conv2 and up" (Girshick, 2015, Sec.
            4.5; model S is CaffeNet). -1 trains all.
        **kwargs: See :class:`PlainTrunk`.
    """
    arch_zoo = {
        'torchvision': _arch((64, 192, 384, 256, 256), lrn=False),
        'caffe': _arch((96, 256, 384, 384, 256), lrn=True),
    }

    def __init__(self,
                 style: str = 'torchvision',
                 frozen_stages: int = 1,
                 init_cfg=DEFAULT_INIT_CFG,
                 **kwargs) -> None:
        if style not in self.arch_zoo:
            raise ValueError(f'AlexNet style must be one of '
                             f'{sorted(self.arch_zoo)}, got {style!r}.')
        self.style = style
        super().__init__(
            self.arch_zoo[style],
            frozen_stages=frozen_stages,
            init_cfg=init_cfg,
            **kwargs)
