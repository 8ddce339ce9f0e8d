# VGG-M Faster R-CNN on KITTI 2D detection, trained alone: a student baseline
# of the paper (Chen et al., NIPS 2017, Table 1). C4 style: RPN and RoI head
# on conv5 (stride 16). Input: the dataset config's scale (shorter side 600).
_base_ = [
    '../_base_/models/faster_rcnn_vggm_c4.py',
    '../_base_/datasets/kitti_detection.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
model = dict(
    # ImageNet VGG-M (the Caffe VGG_CNN_M model, converted to a
    # PyTorch state dict) as conv1-conv5 and fc6 / fc7, written by
    #   python tools/model_converters/pretrained_to_mmkd.py \
    #       vgg_cnn_m.pth checkpoints/vggm_mmkd.pth --arch vggm \
    #       --layout caffe
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vggm_mmkd.pth'),
    # Caffe weights expect BGR input with the ImageNet mean subtracted
    # and no scaling (see faster_rcnn_vggm_c4.py).
    data_preprocessor=dict(
        mean=[103.939, 116.779, 123.68],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    roi_head=dict(bbox_head=dict(num_classes=3)))  # Car, Pedestrian, Cyclist
