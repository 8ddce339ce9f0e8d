"""Tiny Faster R-CNNs with mmkd's plain trunks (VGG16 / AlexNet / VGG-M)."""
import os.path as osp

from ._utils import ROOT

ARCHS = ('vgg16', 'alexnet', 'vggm')
WIDTH = 1 / 16  # 512 -> 32, 256 -> 16 channels
# conv5 channels of each trunk at WIDTH.
C5 = dict(vgg16=32, alexnet=16, vggm=32)


def base_config(arch: str) -> str:
    return osp.join(ROOT, 'configs', '_base_', 'models',
                    f'faster_rcnn_{arch}_c4.py')


def tiny_overrides(arch: str, num_classes: int = 3) -> str:
    """Config text shrinking the arch's base model (appended to a file)."""
    c5 = C5[arch]
    return (f"model = dict(\n"
            f"    init_cfg=None,  # no ImageNet checkpoint in the tests\n"
            f"    backbone=dict(width_mult={WIDTH}, init_cfg=None),\n"
            f"    rpn_head=dict(in_channels={c5}, feat_channels=16),\n"
            f"    roi_head=dict(\n"
            f"        bbox_roi_extractor=dict(out_channels={c5}),\n"
            f"        bbox_head=dict(in_channels={c5}, fc_out_channels=32,\n"
            f"                       num_classes={num_classes})))\n")


def write_tiny_config(folder, arch: str, extra: str = '') -> str:
    """A config file inheriting the arch's base model, shrunk."""
    path = osp.join(str(folder), f'tiny_{arch}.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = [{base_config(arch)!r}]\n"
                f"default_scope = 'mmkd'\n" + tiny_overrides(arch) + extra)
    return path


def build_tiny_detector(arch: str, **backbone):
    """Build the shrunk detector (``backbone`` overrides its kwargs)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd.registry import MODELS
    cfg = Config.fromstring(
        f"_base_ = [{base_config(arch)!r}]\n" + tiny_overrides(arch),
        file_format='.py')
    cfg.model.backbone.update(backbone)
    init_default_scope('mmkd')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model
