"""Convert ImageNet weights (torchvision / Caffe layout) to an mmkd detector
checkpoint: backbone convs + fc6 / fc7 as ``roi_head.bbox_head.shared_fcs``.

Example::

    python tools/model_converters/pretrained_to_mmkd.py vgg16-397923af.pth \
        checkpoints/vgg16_mmkd.pth --arch vgg16
    python tools/model_converters/pretrained_to_mmkd.py vgg_cnn_m.pth \
        checkpoints/vggm_mmkd.pth --arch vggm --layout caffe

The target shapes come from the detector built from ``--config`` (default:
``configs/_base_/models/faster_rcnn_<arch>_c4.py``); any mismatch stops with
the offending keys and shapes. Use the output as the detector's
``init_cfg=dict(type='Pretrained', checkpoint=OUT)``. Key mapping and fc6
handling: :mod:`mmkd.models.backbones.pretrained`.
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.engine.checkpoint import atomic_torch_save
from mmkd.models.backbones.pretrained import convert_state_dict
from mmkd.registry import MODELS
from mmkd.utils.errors import exit_on_user_error
from mmkd.utils.output_paths import check_output

_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_DEFAULT_CONFIG = osp.join(_ROOT, 'configs', '_base_', 'models',
                           'faster_rcnn_{}_c4.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='source state dict (.pth)')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--arch', required=True, choices=['vgg16', 'alexnet', 'vggm'])
    parser.add_argument(
        '--layout',
        choices=['torchvision', 'caffe'],
        help='default: torchvision, caffe for vggm')
    parser.add_argument(
        '--config',
        help='detector config giving the '
        'target shapes (default: the arch base config)')
    parser.add_argument(
        '--allow-missing',
        action='store_true',
        help='write the checkpoint even if backbone / fc '
        'keys stay unfilled')
    return parser.parse_args(argv)


def load_source(path):
    """A raw state dict, or the ``state_dict`` / ``model`` entry of one."""
    obj = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    return obj


def target_shapes(config_path):
    cfg = Config.fromfile(config_path)
    init_default_scope(cfg.get('default_scope', 'mmkd'))
    model_cfg = cfg.model
    model_cfg.pop('init_cfg', None)
    model = MODELS.build(model_cfg)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def main(argv=None):
    args = parse_args(argv)
    with exit_on_user_error():
        check_output(args.dst, 'DST')
    layout = args.layout or ('caffe' if args.arch == 'vggm' else 'torchvision')
    config = args.config or _DEFAULT_CONFIG.format(args.arch)
    result = convert_state_dict(
        load_source(args.src), args.arch, target_shapes(config), layout)
    for note in result.notes:
        print(f'note: {note}')
    if result.unused_keys:
        print(f'unused source keys: {result.unused_keys}')
    if result.missing_keys:
        print(f'target keys not filled: {result.missing_keys}')
        if not args.allow_missing:
            raise SystemExit('Some backbone / fc6 / fc7 weights have no '
                             'source; check --arch / --layout, or pass '
                             '--allow-missing to keep their initialisation.')
    meta = dict(
        arch=args.arch,
        layout=layout,
        source=osp.basename(args.src),
        config=config,
        notes=result.notes,
        unused_keys=result.unused_keys)
    atomic_torch_save(dict(state_dict=result.state_dict, meta=meta), args.dst)
    print(f'wrote {len(result.state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
