"""Registries of the ``mmkd`` scope.

Every registry is a child of MMDetection's registry of the same kind, so a
config with ``default_scope='mmkd'`` finds mmkd's modules first and still
builds every MMDetection (and MMEngine) type such as ``type='FasterRCNN'``.
"""
from mmdet import registry as mmdet_registry
from mmengine.registry import Registry


def _child(parent: Registry, *locations: str) -> Registry:
    # A child's lookup imports only its own locations before searching its
    # parents' already registered modules, so MMDetection's locations (e.g.
    # 'mmdet.visualization' for DetLocalVisualizer) are imported here too;
    # otherwise `type='DetLocalVisualizer'` fails unless something else
    # happened to import that MMDetection package first.
    return Registry(
        parent.name,
        parent=parent,
        scope='mmkd',
        locations=list(locations) + list(parent._locations))


RUNNERS = _child(mmdet_registry.RUNNERS, 'mmkd.engine')
RUNNER_CONSTRUCTORS = _child(mmdet_registry.RUNNER_CONSTRUCTORS, 'mmkd.engine')
LOOPS = _child(mmdet_registry.LOOPS, 'mmkd.engine')
HOOKS = _child(mmdet_registry.HOOKS, 'mmkd.engine')
DATASETS = _child(mmdet_registry.DATASETS, 'mmkd.datasets')
DATA_SAMPLERS = _child(mmdet_registry.DATA_SAMPLERS, 'mmkd.datasets')
TRANSFORMS = _child(mmdet_registry.TRANSFORMS, 'mmkd.datasets')
MODELS = _child(mmdet_registry.MODELS, 'mmkd.models')
MODEL_WRAPPERS = _child(mmdet_registry.MODEL_WRAPPERS, 'mmkd.models')
WEIGHT_INITIALIZERS = _child(mmdet_registry.WEIGHT_INITIALIZERS, 'mmkd.models')
OPTIMIZERS = _child(mmdet_registry.OPTIMIZERS, 'mmkd.engine')
OPTIM_WRAPPERS = _child(mmdet_registry.OPTIM_WRAPPERS, 'mmkd.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmdet_registry.OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mmkd.engine')
PARAM_SCHEDULERS = _child(mmdet_registry.PARAM_SCHEDULERS, 'mmkd.engine')
METRICS = _child(mmdet_registry.METRICS, 'mmkd.evaluation')
EVALUATOR = _child(mmdet_registry.EVALUATOR, 'mmkd.evaluation')
TASK_UTILS = _child(mmdet_registry.TASK_UTILS, 'mmkd.models')
# mmkd has no visualizers of its own: MMDetection's are found through the
# parents' locations.
VISUALIZERS = _child(mmdet_registry.VISUALIZERS)
VISBACKENDS = _child(mmdet_registry.VISBACKENDS)
LOG_PROCESSORS = _child(mmdet_registry.LOG_PROCESSORS, 'mmkd.engine')
