# AlexNet Faster R-CNN on MS-COCO 2017, trained alone: a student baseline of
# the paper (Chen et al., NIPS 2017, Table 1). C4 style: RPN and RoI head on
# conv5 (stride 16). Input: the dataset config's scale (shorter side 600).
_base_ = [
    '../_base_/models/faster_rcnn_alexnet_c4.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
model = dict(
    # ImageNet AlexNet (torchvision's alexnet-owt-7be5be79.pth) as
    # conv1-conv5 and fc6 / fc7 of the detector, written by
    #   python tools/model_converters/pretrained_to_mmkd.py \
    #       alexnet-owt-7be5be79.pth checkpoints/alexnet_mmkd.pth \
    #       --arch alexnet
    init_cfg=dict(
        type='Pretrained', checkpoint='checkpoints/alexnet_mmkd.pth'),
    roi_head=dict(bbox_head=dict(num_classes=80)))  # the 80 COCO classes
