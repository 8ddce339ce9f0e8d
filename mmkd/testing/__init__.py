"""Test helpers (as ``mmdet.testing``): tiny datasets and detectors, tool
runners and the fault-injection plugins of the reliability tests."""
from mmkd.utils.ports import free_port
from ._utils import (KD_FAULTS_CONFIG, MASK_KD, PYTHON, ROOT, TINY_CONFIG,
                     assert_same_detections, data_options, data_overrides,
                     demo_batch, distiller_batch, kd_train_options, load_tool,
                     run_tool, write_teacher_checkpoint)

__all__ = [
    'assert_same_detections', 'KD_FAULTS_CONFIG', 'MASK_KD', 'PYTHON', 'ROOT',
    'TINY_CONFIG', 'data_options', 'data_overrides', 'demo_batch',
    'distiller_batch', 'free_port', 'kd_train_options', 'load_tool',
    'run_tool', 'write_teacher_checkpoint'
]
