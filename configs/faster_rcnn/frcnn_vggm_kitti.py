# VGG-M Faster R-CNN on KITTI 2D detection, trained alone: a student baseline
# of the paper (Chen et al., NIPS 2017, Table 1). C4 style: RPN and RoI head
# on conv5 (stride 16). Input: the dataset config's scale (shorter side 600).
_base_ = [
    '../_base_/models/faster_rcnn_vggm_c4.py',
    '../_base_/datasets/kitti_detection.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
# ImageNet weights: the trunk's base model config (init_cfg).
model = dict(
    roi_head=dict(bbox_head=dict(num_classes=3)))  # Car, Pedestrian, Cyclist
