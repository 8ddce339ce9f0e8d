"""ImageNet weight conversion (mmkd.models.backbones.pretrained and
tools/model_converters/pretrained_to_mmkd.py)."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from mmkd.models.backbones.pretrained import (FC6, FC7, convert_state_dict,
                                              key_mapping)
from mmkd.testing import load_tool
from mmkd.testing.trunks import build_tiny_detector, write_tiny_config


def _shapes(arch, **backbone):
    model = build_tiny_detector(arch, **backbone)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _source(arch, layout, shapes, seed=0):
    """Random tensors in the source layout, with the target's shapes."""
    torch.manual_seed(seed)
    src = {}
    for src_prefix, dst_prefix in key_mapping(arch, layout).items():
        for param in ('weight', 'bias'):
            src[f'{src_prefix}.{param}'] = torch.randn(
                shapes[f'{dst_prefix}.{param}'])
    return src


def test_key_mappings():
    vgg = key_mapping('vgg16', 'torchvision')
    assert vgg['features.0'] == 'backbone.conv1_1'
    assert vgg['features.28'] == 'backbone.conv5_3'
    assert vgg['classifier.0'] == FC6 and vgg['classifier.3'] == FC7
    alex = key_mapping('alexnet', 'torchvision')
    assert [alex[f'features.{i}'] for i in (0, 3, 6, 8, 10)
            ] == [f'backbone.conv{i}' for i in range(1, 6)]
    assert alex['classifier.1'] == FC6 and alex['classifier.4'] == FC7
    vggm = key_mapping('vggm', 'caffe')
    assert vggm['conv5'] == 'backbone.conv5' and vggm['fc7'] == FC7
    with pytest.raises(ValueError, match="layout='caffe'"):
        key_mapping('vggm', 'torchvision')


@pytest.mark.parametrize('arch,layout,fc8',
                         [('vgg16', 'torchvision', 'classifier.6'),
                          ('alexnet', 'torchvision', 'classifier.6'),
                          ('vggm', 'caffe', 'fc8'), ('vgg16', 'caffe', 'fc8')])
def test_mapped_tensors_are_identical(arch, layout, fc8):
    shapes = _shapes(arch)
    src = _source(arch, layout, shapes)
    src[f'{fc8}.weight'] = torch.randn(1000, 32)
    src[f'{fc8}.bias'] = torch.randn(1000)
    result = convert_state_dict(src, arch, shapes, layout)
    for src_prefix, dst_prefix in key_mapping(arch, layout).items():
        for param in ('weight', 'bias'):
            assert torch.equal(result.state_dict[f'{dst_prefix}.{param}'],
                               src[f'{src_prefix}.{param}'])
    assert result.unused_keys == [f'{fc8}.weight', f'{fc8}.bias']
    assert result.missing_keys == [] and result.notes == []


def test_missing_and_unknown_keys_are_reported():
    shapes = _shapes('vgg16')
    src = _source('vgg16', 'torchvision', shapes)
    del src['features.28.bias']
    src['features.99.weight'] = torch.zeros(1)
    result = convert_state_dict(src, 'vgg16', shapes)
    assert result.missing_keys == ['backbone.conv5_3.bias']
    assert result.unused_keys == ['features.99.weight']


def test_shape_mismatch_names_keys_and_shapes():
    # Caffe AlexNet has 96 conv1 filters, torchvision's 64 (here 6 vs 4).
    shapes = _shapes('alexnet')
    src = _source('alexnet', 'torchvision', shapes)
    src['features.0.weight'] = torch.randn(6, 3, 11, 11)
    with pytest.raises(ValueError) as err:
        convert_state_dict(src, 'alexnet', shapes)
    msg = str(err.value)
    for part in ("'features.0.weight'", '(6, 3, 11, 11)',
                 "'backbone.conv1.weight'", '(4, 3, 11, 11)', '--arch'):
        assert part in msg


def test_grouped_caffe_kernels_expand_to_the_same_function():
    shapes = _shapes('alexnet', style='caffe')
    src = _source('alexnet', 'caffe', shapes)
    dense_shape = shapes['backbone.conv2.weight']  # (16, 6, 5, 5)
    grouped = torch.randn(dense_shape[0], dense_shape[1] // 2, 5, 5)
    src['conv2.weight'] = grouped
    result = convert_state_dict(src, 'alexnet', shapes, 'caffe')
    dense = result.state_dict['backbone.conv2.weight']
    assert dense.shape == dense_shape
    assert result.notes == [
        'conv2.weight: 2 groups expanded '
        'block-diagonally'
    ]
    x = torch.randn(1, dense_shape[1], 9, 9)
    torch.testing.assert_close(
        F.conv2d(x, dense), F.conv2d(x, grouped, groups=2))


def test_fc6_is_resized_when_the_roi_size_differs():
    # AlexNet weights (6x6 pool5) into a head with 7x7 RoIs.
    shapes = _shapes('alexnet')
    c5 = shapes['backbone.conv5.weight'][0]
    src = _source('alexnet', 'torchvision', shapes)
    src['classifier.1.weight'] = torch.rand(32, c5 * 6 * 6)
    shapes[f'{FC6}.weight'] = (32, c5 * 7 * 7)
    result = convert_state_dict(src, 'alexnet', shapes)
    fc6 = result.state_dict[f'{FC6}.weight']
    assert fc6.shape == (32, c5 * 49)
    assert 'classifier.1.weight: resized' in result.notes[0]
    # A spatially constant RoI map gives about the same fc6 response.
    const = torch.rand(c5)
    old = src['classifier.1.weight'] @ const.repeat_interleave(36)
    new = fc6 @ const.repeat_interleave(49)
    torch.testing.assert_close(new, old, rtol=0.05, atol=0.)
    shapes[f'{FC6}.weight'] = (32, c5 * 49 + 1)
    with pytest.raises(ValueError, match='roi_feat_size'):
        convert_state_dict(src, 'alexnet', shapes)


def _tool():
    return load_tool('model_converters/pretrained_to_mmkd')


def test_cli_output_initialises_the_detector(tmp_path, capsys):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd.registry import MODELS
    shapes = _shapes('vggm')
    src = _source('vggm', 'caffe', shapes)
    src['fc8.weight'] = torch.randn(10, 32)
    torch.save(src, str(tmp_path / 'vggm_caffe.pth'))
    out = str(tmp_path / 'vggm_mmkd.pth')
    config = write_tiny_config(tmp_path, 'vggm')
    _tool().main([
        str(tmp_path / 'vggm_caffe.pth'), out, '--arch', 'vggm', '--config',
        config
    ])
    assert "unused source keys: ['fc8.weight']" in capsys.readouterr().out
    ckpt = torch.load(out, weights_only=True)
    assert ckpt['meta']['arch'] == 'vggm'
    cfg = Config.fromfile(config)
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=out)
    init_default_scope('mmkd')
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert torch.equal(model.backbone.conv3.weight, src['conv3.weight'])
    assert torch.equal(model.roi_head.bbox_head.shared_fcs[1].bias,
                       src['fc7.bias'])


def test_cli_refuses_missing_weights(tmp_path):
    shapes = _shapes('vggm')
    src = _source('vggm', 'caffe', shapes)
    del src['conv4.weight']
    torch.save(src, str(tmp_path / 'src.pth'))
    with pytest.raises(SystemExit, match='--allow-missing'):
        _tool().main([
            str(tmp_path / 'src.pth'),
            str(tmp_path / 'o.pth'), '--arch', 'vggm', '--config',
            write_tiny_config(tmp_path, 'vggm')
        ])
    assert not osp.exists(tmp_path / 'o.pth')
