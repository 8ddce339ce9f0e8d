"""Building a detector from a config name and probing what distillation
needs of it: its feature levels, anchors, box coders and classes."""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from mmkd.datasets.classes import dataset_classes

# Input side of the probe: a multiple of 64, so that every level of an FPN
# with P6 (stride 64) has a whole number of positions.
PROBE_SIZE = 256


@dataclass(frozen=True)
class FeatureLevel:
    """One output of ``extract_feat``.

    Args:
        index (int): Position in ``extract_feat``'s tuple.
        channels (int): Channels of the map.
        stride (int): Input pixels per map position.
    """
    index: int
    channels: int
    stride: int

    def describe(self) -> str:
        return f'level {self.index}: {self.channels} ch, stride {self.stride}'


def build_detector(model_cfg: dict) -> nn.Module:
    """Build a detector in the ``mmkd`` scope, without loading weights."""
    from mmkd.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmkd'):
        return MODELS.build(model_cfg).eval()


@torch.no_grad()
def feature_levels(detector: nn.Module,
                   size: int = PROBE_SIZE) -> List[FeatureLevel]:
    """Channels and strides of ``detector.extract_feat`` on a
    ``(1, 3, size, size)`` input."""
    feats = detector.extract_feat(torch.zeros(1, 3, size, size))
    return [
        FeatureLevel(i, int(f.shape[1]), int(round(size / f.shape[-2])))
        for i, f in enumerate(feats)
    ]


def coder_desc(coder: nn.Module) -> Tuple:
    """``(type, means, stds)`` of a box coder: what must be equal for two
    detectors' deltas to be in the same units."""
    means = getattr(coder, 'means', None)
    stds = getattr(coder, 'stds', None)
    return (type(coder).__name__, tuple(means) if means else None,
            tuple(stds) if stds else None)


def roi_box_desc(seam) -> Tuple:
    """How a RoI head's stages encode boxes: coder, class-agnostic, decoded
    (one tuple per stage for a cascade)."""
    descs = []
    for stage in range(seam.num_stages):
        head = seam.bbox_head(stage)
        descs.append(
            (coder_desc(head.bbox_coder), ('reg_class_agnostic',
                                           bool(head.reg_class_agnostic)),
             ('reg_decoded_bbox', bool(head.reg_decoded_bbox))))
    return descs[0] if len(descs) == 1 else tuple(descs)


def anchors_desc(detector: nn.Module) -> Tuple:
    """Strides, anchors per position and base anchors of the RPN."""
    gen = detector.rpn_head.prior_generator
    return (tuple(tuple(s) for s in gen.strides), tuple(gen.num_base_priors),
            tuple(
                tuple(round(v, 3) for v in a.flatten().tolist())
                for a in gen.base_anchors))


def normalisation(detector: nn.Module) -> Tuple:
    """Mean, std and channel flip of the detector's data preprocessor."""
    pre = detector.data_preprocessor
    if not getattr(pre, '_enable_normalize', False):
        return (None, None, bool(getattr(pre, '_channel_conversion', False)))
    return (tuple(pre.mean.flatten().tolist()),
            tuple(pre.std.flatten().tolist()),
            bool(getattr(pre, '_channel_conversion', False)))


def train_classes(cfg: Config) -> Optional[tuple]:
    """The training set's class names (its ``metainfo``, else its type's
    defaults); None when they cannot be told."""
    return dataset_classes(cfg.get('train_dataloader', {}).get('dataset', {}))
