"""Converters of real detection datasets' annotations to COCO json."""
from .ilsvrc_det import (ILSVRC_DET_CLASSES, check_class_names,
                         ilsvrc_det_to_coco, list_xml_files, load_meta)
from .kitti import (KITTI_CLASSES, convert_split, kitti_to_coco,
                    list_frame_ids, split_ids)

__all__ = [
    'ILSVRC_DET_CLASSES', 'KITTI_CLASSES', 'check_class_names',
    'convert_split', 'ilsvrc_det_to_coco', 'kitti_to_coco', 'list_frame_ids',
    'list_xml_files', 'load_meta', 'split_ids'
]
