# A small Faster R-CNN for 128-160 px images: a ResNet-18 trunk whose width
# is set by `base_channels` (64 in the original ResNet-18; the demo's teacher
# and student override it), FPN and MMDetection's standard heads, with
# anchors and proposal counts sized for small images.
width = 16  # channels of the first ResNet stage (64 in ResNet-18)
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet statistics (RGB)
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=width,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,  # trained from scratch: nothing to keep frozen
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        type='FPN',
        in_channels=[width, width * 2, width * 4, width * 8],
        out_channels=width * 2,
        num_outs=4),
    rpn_head=dict(
        # MMDetection's RPNHead with float32 NMS (runs under --amp on CPU).
        type='AmpSafeRPNHead',
        in_channels=width * 2,
        feat_channels=width * 2,
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[4],  # anchors of 16-128 px on strides 4-32
            ratios=[0.5, 1.0, 2.0],
            strides=[4, 8, 16, 32]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            # MMDetection's SingleRoIExtractor, float32 RoI pooling (--amp).
            type='AmpSafeRoIExtractor',
            # mmcv's RoIAlign, computed faster on small CPU maps
            roi_layer=dict(
                type='SeparableRoIAlign', output_size=7, sampling_ratio=0),
            out_channels=width * 2,
            featmap_strides=[4, 8, 16, 32],
            finest_scale=28),  # 56 in MMDetection, halved for small images
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=width * 2,
            fc_out_channels=width * 16,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    # MMDetection's Faster R-CNN settings, with fewer proposals and samples
    # because the images are small and hold a few objects each.
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=128,
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=300,
            max_per_img=150,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=64,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(
            nms_pre=300,
            max_per_img=100,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=50)))
