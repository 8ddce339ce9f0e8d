"""mmkd.datasets: ``CocoDataset`` and ``LoadImageFromFile`` registered in
the mmkd scope under MMDetection's names (checked annotation files, boxes
fitted to their images, named image decode errors)."""
from . import transforms  # noqa: F401  (StudentDownscale, PackDistillInputs)
from .coco import CocoDataset, fit_box, read_coco_json
from .loading import LoadImageFromFile, decode_image

__all__ = [
    'CocoDataset', 'LoadImageFromFile', 'decode_image', 'fit_box',
    'read_coco_json'
]
