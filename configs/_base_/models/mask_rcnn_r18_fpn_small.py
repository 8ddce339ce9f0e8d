# A small Mask R-CNN for 128-160 px images: faster_rcnn_r18_fpn_small.py
# with MMDetection's Mask R-CNN mask branch (RoIAlign to 14 x 14 on the FPN
# levels, four 3x3 convs, 28 x 28 masks per class, binary cross-entropy),
# as wide as the box branch's RoI features (width * 2 channels, width = 16
# here; the demo's detectors override it).
_base_ = ['./faster_rcnn_r18_fpn_small.py']
model = dict(
    type='MaskRCNN',
    roi_head=dict(
        mask_roi_extractor=dict(
            type='AmpSafeRoIExtractor',  # as the box branch's
            roi_layer=dict(
                type='SeparableRoIAlign', output_size=14, sampling_ratio=0),
            out_channels=32,
            featmap_strides=[4, 8, 16, 32],
            finest_scale=28),  # as the box branch's (halved for small images)
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=4,
            in_channels=32,
            conv_out_channels=32,
            num_classes=80,
            loss_mask=dict(
                type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
