"""mmkd: knowledge distillation for two-stage object detectors.

Implements Chen et al., "Learning Efficient Object Detection Models with
Knowledge Distillation" (NIPS 2017) on MMEngine / MMCV / MMDetection 3.
"""
from . import datasets  # noqa: F401  (registers datasets & transforms)
from . import engine  # noqa: F401  (registers the atomic file backend)
from .engine.checkpoint import allow_mmengine_checkpoints
from .version import __version__

# torch >= 2.6 loads checkpoints with ``weights_only=True``; allow-list the
# MMEngine / numpy types that MMEngine itself writes into checkpoints so that
# ``load_checkpoint`` and ``Runner.resume`` keep working (and only those).
allow_mmengine_checkpoints()

__all__ = ['__version__', 'allow_mmengine_checkpoints']
