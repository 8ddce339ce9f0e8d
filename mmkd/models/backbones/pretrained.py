"""Map ImageNet-pretrained classifiers onto mmkd's Faster R-CNN layout.

Sources:

* ``layout='torchvision'`` (VGG16, AlexNet): ``features.N.{weight,bias}``
  and ``classifier.N.{weight,bias}`` as in torchvision's ``vgg16`` /
  ``alexnet`` (torchvision's AlexNet is the 64-192-384-256-256 variant, i.e.
  mmkd's ``AlexNet(style='torchvision')``).
* ``layout='caffe'`` (all archs; e.g. Caffe-converted VGG_CNN_M): the Caffe
  layer names, ``conv1.weight`` ... / ``conv1_1.weight`` ..., ``fc6.*``,
  ``fc7.*``. Grouped Caffe kernels (AlexNet conv2/4/5, ``(C_out, C_in / g,
  k, k)``) are expanded block-diagonally into the dense kernels of mmkd's
  trunks, which compute the same function.

Targets are detector keys: ``backbone.<conv>.{weight,bias}`` (see
:mod:`mmkd.models.backbones.plain_trunk`) and
``roi_head.bbox_head.shared_fcs.{0,1}.{weight,bias}`` for fc6 / fc7.
fc8 (the ImageNet classifier) has no target and is reported as unused.

fc6 and a different RoI size: fc6's input is the flattened ``(C, h, h)``
pool5 map (``h = 7`` for VGG16, 6 for AlexNet / VGG-M). When the detector's
``roi_feat_size`` ``H`` differs, the weight is viewed as ``(out, C, h, h)``,
resized bilinearly to ``(out, C, H, H)`` (``align_corners=True``) and scaled
by ``h^2 / H^2`` so that the response to a spatially constant map stays about
the same; this is reported in ``notes``. Any other shape mismatch raises a
``ValueError`` naming both keys and shapes.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Tuple

import torch
import torch.nn.functional as F

FC6 = 'roi_head.bbox_head.shared_fcs.0'
FC7 = 'roi_head.bbox_head.shared_fcs.1'
_VGG16_CONVS = [
    f'conv{i}_{j}' for i, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
    for j in range(1, n + 1)
]
_CONV1_5 = [f'conv{i}' for i in range(1, 6)]
# Caffe layer names of each arch's convs, in order.
ARCH_CONVS = {'vgg16': _VGG16_CONVS, 'alexnet': _CONV1_5, 'vggm': _CONV1_5}
# torchvision module indices: features.N of each conv, classifier.N of fc6/7.
_TORCHVISION_INDICES = {
    'vgg16': ([0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28], (0, 3)),
    'alexnet': ([0, 3, 6, 8, 10], (1, 4)),
}


@dataclass
class ConversionResult:
    """The converted state dict and what could not be mapped.

    Attributes:
        state_dict (dict): Detector keys -> tensors.
        unused_keys (list[str]): Source keys without a target (e.g. fc8).
        missing_keys (list[str]): Target backbone / fc6 / fc7 keys that no
            source key filled (e.g. BN layers, Tucker factors).
        notes (list[str]): Non-trivial transforms that were applied.
    """
    state_dict: Dict[str, torch.Tensor]
    unused_keys: List[str] = field(default_factory=list)
    missing_keys: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def key_mapping(arch: str, layout: str) -> Dict[str, str]:
    """Source layer prefix -> detector layer prefix for ``arch`` / ``layout``.

    Args:
        arch (str): ``'vgg16'``, ``'alexnet'`` or ``'vggm'``.
        layout (str): ``'torchvision'`` or ``'caffe'``.

    Returns:
        dict[str, str]: e.g. ``{'features.0': 'backbone.conv1_1', ...}``.
    """
    if arch not in ARCH_CONVS:
        raise ValueError(f'Unknown arch {arch!r}; choose one of '
                         f'{sorted(ARCH_CONVS)}.')
    convs = ARCH_CONVS[arch]
    if layout == 'caffe':
        mapping = {name: f'backbone.{name}' for name in convs}
        mapping.update(fc6=FC6, fc7=FC7)
        return mapping
    if layout != 'torchvision':
        raise ValueError(f"layout must be 'torchvision' or 'caffe', got "
                         f'{layout!r}.')
    if arch not in _TORCHVISION_INDICES:
        raise ValueError(f'torchvision has no {arch!r} model; convert a '
                         f"Caffe-layout checkpoint with layout='caffe'.")
    features, (fc6, fc7) = _TORCHVISION_INDICES[arch]
    mapping = {
        f'features.{i}': f'backbone.{name}'
        for i, name in zip(features, convs)
    }
    mapping.update({f'classifier.{fc6}': FC6, f'classifier.{fc7}': FC7})
    return mapping


def _expand_groups(src: torch.Tensor, groups: int) -> torch.Tensor:
    """Grouped kernel ``(O, I / g, k, k)`` -> block-diagonal ``(O, I, k, k)``.
    """
    out_c, in_per_group = src.shape[:2]
    dense = src.new_zeros((out_c, in_per_group * groups) + src.shape[2:])
    out_per_group = out_c // groups
    for g in range(groups):
        rows = slice(g * out_per_group, (g + 1) * out_per_group)
        cols = slice(g * in_per_group, (g + 1) * in_per_group)
        dense[rows, cols] = src[rows]
    return dense


def _resize_fc6(src: torch.Tensor, dst_shape: Tuple[int, ...],
                channels: int) -> torch.Tensor:
    """fc6 weight ``(out, C h h)`` -> ``(out, C H H)`` (see module doc)."""
    if channels <= 0:
        raise ValueError('Cannot resize fc6: the target has no conv5 weight '
                         'to give the RoI map channels; convert against a '
                         'full detector config.')
    out_f, in_f = src.shape
    h = round((in_f // channels)**0.5)
    H = round((dst_shape[1] // channels)**0.5)
    if (in_f != channels * h * h or dst_shape[1] != channels * H * H
            or dst_shape[0] != out_f):
        raise ValueError(
            f'fc6 weight {tuple(src.shape)} cannot be resized to '
            f'{tuple(dst_shape)} for a {channels}-channel RoI map; check '
            f'fc_out_channels / roi_feat_size of the bbox head.')
    weight = src.reshape(out_f, channels, h, h)
    weight = F.interpolate(
        weight, size=(H, H), mode='bilinear', align_corners=True) * (
            h * h / (H * H))
    return weight.reshape(out_f, -1).contiguous()


def _fit(src_key: str, dst_key: str, src: torch.Tensor, dst_shape: Tuple[int,
                                                                         ...],
         fc6_channels: int, notes: List[str], caffe: bool) -> torch.Tensor:
    """``src`` in the target shape, or a ValueError naming both keys.

    Grouped kernels are expanded for Caffe sources only (torchvision has no
    grouped convs, so there a channel mismatch is always an error).
    """
    if tuple(src.shape) == tuple(dst_shape):
        return src.clone()
    if (caffe and src.dim() == 4 and len(dst_shape) == 4
            and src.shape[0] == dst_shape[0]
            and dst_shape[1] % src.shape[1] == 0
            and tuple(src.shape[2:]) == tuple(dst_shape[2:])):
        groups = dst_shape[1] // src.shape[1]
        notes.append(f'{src_key}: {groups} groups expanded block-diagonally')
        return _expand_groups(src, groups)
    if dst_key == f'{FC6}.weight' and src.dim() == 2:
        notes.append(f'{src_key}: resized {tuple(src.shape)} -> '
                     f'{tuple(dst_shape)} (RoI size differs)')
        return _resize_fc6(src, dst_shape, fc6_channels)
    raise ValueError(
        f'Shape mismatch: source {src_key!r} {tuple(src.shape)} vs target '
        f'{dst_key!r} {tuple(dst_shape)}. Check --arch / --layout and that '
        f'the config builds the matching backbone (width_mult, style) and '
        f'bbox head (in_channels, roi_feat_size, fc_out_channels).')


def _fc6_channels(arch: str, target_shapes: Mapping[str, tuple]) -> int:
    last = f'backbone.{ARCH_CONVS[arch][-1]}'
    for key in (f'{last}.weight', f'{last}.out_proj.weight'):
        if key in target_shapes:
            return int(target_shapes[key][0])
    return 0


def convert_state_dict(src: Mapping[str, torch.Tensor],
                       arch: str,
                       target_shapes: Mapping[str, Tuple[int, ...]],
                       layout: str = 'torchvision') -> ConversionResult:
    """Map a pretrained classifier's state dict onto detector keys.

    Args:
        src (Mapping[str, Tensor]): Source state dict (see module doc).
        arch (str): ``'vgg16'``, ``'alexnet'`` or ``'vggm'``.
        target_shapes (Mapping[str, tuple]): Detector key -> shape, e.g.
            ``{k: v.shape for k, v in detector.state_dict().items()}``.
        layout (str): ``'torchvision'`` or ``'caffe'``.

    Returns:
        ConversionResult: Mapped tensors (cloned, bit-identical unless a
        transform is listed in ``notes``) and unused / missing keys.
    """
    mapping = key_mapping(arch, layout)
    fc6_channels = _fc6_channels(arch, target_shapes)
    result = ConversionResult(state_dict={})
    for src_key, tensor in src.items():
        prefix, _, param = src_key.rpartition('.')
        dst_key = f'{mapping[prefix]}.{param}' if prefix in mapping else None
        if dst_key is None or dst_key not in target_shapes:
            result.unused_keys.append(src_key)
            continue
        result.state_dict[dst_key] = _fit(
            src_key,
            dst_key,
            tensor,
            tuple(target_shapes[dst_key]),
            fc6_channels,
            result.notes,
            caffe=layout == 'caffe')
    scope = ('backbone.', f'{FC6}.', f'{FC7}.')
    result.missing_keys = sorted(
        k for k in target_shapes
        if k.startswith(scope) and k not in result.state_dict)
    return result
