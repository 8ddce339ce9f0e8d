"""mmkd.models.backbones: the paper's trunks (C4-style, stride 16)."""
from .alexnet import AlexNet
from .plain_trunk import PlainTrunk
from .vgg import VGG16
from .vggm import VGGM

__all__ = ['AlexNet', 'PlainTrunk', 'VGG16', 'VGGM']
