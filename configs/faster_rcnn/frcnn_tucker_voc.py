# The paper's Tucker student on PASCAL VOC (07+12 trainval, 2007 test),
# trained alone (Chen et al., NIPS 2017, Table 1): a Tucker-decomposed
# AlexNet. The paper's 11M-parameter Tucker network is the AlexNet that Kim
# et al. (ICLR 2016) compress with Tucker decomposition (61M -> 11M
# parameters, convolutions *and* fully connected layers). mmkd decomposes the
# trunk's convolutions only (TuckerConv2d: 1x1 -> kxk core -> 1x1); fc6 / fc7
# of the RoI head stay dense, so this detector keeps most of AlexNet's
# parameters (see configs/kd/README.md) while its conv2-conv5 have 3.6x fewer
# parameters.
#
# The weights come from the trained AlexNet baseline, decomposed and then
# fine-tuned with this config (Kim et al.'s recipe):
#   python tools/train.py configs/faster_rcnn/frcnn_alexnet_voc.py
#   python tools/model_converters/tucker_decompose.py \
#       configs/faster_rcnn/frcnn_alexnet_voc.py \
#       work_dirs/frcnn_alexnet_voc/epoch_4.pth work_dirs/tucker \
#       --ranks conv2=32,64 conv3=96,128 conv4=192,96 conv5=128,96
# which writes work_dirs/tucker/frcnn_alexnet_voc_tucker.{py,pth} with
# exactly the ranks of configs/_base_/models/faster_rcnn_tucker_c4.py
# (`--method vbmf` instead of `--ranks` picks data-driven ranks as Kim et
# al. do; put them there if you use it).
_base_ = [
    '../_base_/models/faster_rcnn_tucker_c4.py',
    '../_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc.py', '../_base_/default_runtime.py'
]
model = dict(
    # The decomposed AlexNet detector written by tucker_decompose.py (above).
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/tucker/frcnn_alexnet_voc_tucker.pth'),
    roi_head=dict(bbox_head=dict(num_classes=20)))  # the 20 VOC classes
