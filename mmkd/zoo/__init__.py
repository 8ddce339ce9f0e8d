"""Distillation configs for any pair of MMDetection detectors (model-zoo
``mmdet::`` configs or one's own): build both, probe their feature levels,
check that they can be paired and write the config
(``tools/misc/make_kd_config.py`` is the command line)."""
from .pairing import KDPlan, plan_distillation
from .probe import FeatureLevel, feature_levels
from .render import render_config
from .write import write_kd_config

__all__ = [
    'FeatureLevel', 'KDPlan', 'feature_levels', 'plan_distillation',
    'render_config', 'write_kd_config'
]
