# The quarter-width student (frcnn_r18w8_synthetic.py) with its ResNet-18 trunk
# pre-trained instead of trained from scratch: the demo's stand-in for the
# paper's ImageNet-initialised trunks. The trunk is first trained to
# classify generated crops of the dataset's shapes, distractors and clutter
# (mmkd/demo/pretrain.py; the accuracy is in the checkpoint's meta) by
#   python tools/misc/pretrain_trunk.py --width 8 \
#       --out work_dirs/pretrain/r18w8.pth
# (measured: held-out accuracy 0.62 over 12 classes, 1.9 min of CPU).
# Everything else (heads, data, schedule) is the from-scratch config's.
_base_ = './frcnn_r18w8_synthetic.py'
model = dict(
    # The checkpoint's keys are the detector's (backbone.*), so it loads at
    # the detector level, as the VGG16 / AlexNet configs load their ImageNet
    # trunks; the neck and the heads keep their own initialisation.
    init_cfg=dict(
        type='Pretrained', checkpoint='work_dirs/pretrain/r18w8.pth'),
    backbone=dict(
        # As MMDetection does with ImageNet ResNets (and the paper's Fast
        # R-CNN with the first VGG16 convolutions): the stem and the first
        # stage keep their pre-trained weights. -1 fine-tunes every stage.
        frozen_stages=1,
        # BN statistics and affine parameters from the classification task,
        # kept fixed (MMDetection's setting for pre-trained ResNets).
        # norm_eval=False with requires_grad=True re-estimates them on the
        # detection batches, as the from-scratch config does.
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True))
