"""mmkd.datasets: ``CheckedCocoDataset`` and ``CheckedLoadImageFromFile``
(MMDetection's ``CocoDataset`` and MMCV's ``LoadImageFromFile`` with checked
annotation files, boxes fitted to their images and named image decode
errors), the high-resolution teacher's transforms and the classes of a
dataset config."""
from . import transforms  # noqa: F401  (StudentDownscale, PackDistillInputs)
from .classes import dataset_classes
from .coco import CheckedCocoDataset, fit_box, read_coco_json
from .loading import CheckedLoadImageFromFile, decode_image

__all__ = [
    'CheckedCocoDataset', 'CheckedLoadImageFromFile', 'dataset_classes',
    'decode_image', 'fit_box', 'read_coco_json'
]
