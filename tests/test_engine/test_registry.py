"""The mmkd scope finds mmkd's modules and still builds MMDetection's."""
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmkd  # noqa: F401
from mmkd import registry
from mmkd.testing import ROOT


@pytest.mark.parametrize('name', [
    'MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'HOOKS', 'VISUALIZERS',
    'OPTIM_WRAPPERS', 'LOOPS', 'TASK_UTILS', 'MODEL_WRAPPERS'
])
def test_registries_are_mmdet_children(name):
    from mmdet import registry as mmdet_registry
    ours = getattr(registry, name)
    assert ours.scope == 'mmkd'
    assert ours.parent is getattr(mmdet_registry, name)


def test_mmkd_scope_builds_mmdet_types():
    from mmdet.models import FasterRCNN
    from mmengine.registry import MODELS as ROOT_MODELS
    cfg = Config.fromfile(
        f'{ROOT}/configs/_base_/models/faster_rcnn_r18_fpn_small.py').model
    with DefaultScope.overwrite_default_scope('mmkd'):
        model = ROOT_MODELS.build(cfg)
    assert isinstance(model, FasterRCNN)
    # The mmkd registry itself resolves MMDetection names through its
    # parent, and mmkd names through itself.
    assert registry.MODELS.get('FasterRCNN') is FasterRCNN
    assert registry.MODELS.get('mmdet.FasterRCNN') is FasterRCNN
    assert registry.OPTIM_WRAPPERS.get('AutocastOptimWrapper') is not None


def test_unknown_type_names_the_value():
    with pytest.raises(KeyError, match='NoSuchDetector'):
        registry.MODELS.build(dict(type='NoSuchDetector'))


def _parent_names(reg) -> dict:
    """``{name: registry}`` of every name in ``reg``'s parent chain."""
    names = {}
    parent = reg.parent
    while parent is not None:
        parent.import_from_location()
        for name in parent.module_dict:
            names.setdefault(name, f'{parent.scope}.{parent.name}')
        parent = parent.parent
    return names


def test_no_mmkd_name_shadows_an_mmdet_or_mmengine_one():
    """With default_scope='mmkd', ``type='RPNHead'`` must build the class
    MMDetection's docs describe: no mmkd registration takes a name that a
    parent registry (MMDetection's, MMEngine's root, where MMCV registers
    its transforms) holds."""
    import mmcv.transforms  # noqa: F401  (LoadImageFromFile & co.)
    from mmengine.registry import Registry

    import mmkd.testing.faults  # noqa: F401  (the test suite's modules)
    shadowed = []
    for attr, reg in vars(registry).items():
        if not isinstance(reg, Registry):
            continue
        reg.import_from_location()
        parents = _parent_names(reg)
        shadowed += [
            f'{attr}: {name} (also in {parents[name]})'
            for name in reg.module_dict if name in parents
        ]
    assert shadowed == []


def test_mmdet_names_build_mmdet_classes_in_the_mmkd_scope():
    from mmdet.models.dense_heads import RPNHead
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

    from mmkd.models.amp_safe import AmpSafeRoIExtractor, AmpSafeRPNHead
    head = dict(in_channels=4, feat_channels=4)
    extractor = dict(
        roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
        out_channels=4,
        featmap_strides=[4])
    with DefaultScope.overwrite_default_scope('mmkd'):
        assert type(registry.MODELS.build(dict(type='RPNHead',
                                               **head))) is RPNHead
        assert type(
            registry.MODELS.build(dict(type='AmpSafeRPNHead',
                                       **head))) is AmpSafeRPNHead
        assert type(registry.MODELS.build(
            dict(type='SingleRoIExtractor', **extractor))) is \
            SingleRoIExtractor
        assert type(registry.MODELS.build(
            dict(type='AmpSafeRoIExtractor', **extractor))) is \
            AmpSafeRoIExtractor
