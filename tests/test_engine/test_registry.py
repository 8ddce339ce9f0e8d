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
