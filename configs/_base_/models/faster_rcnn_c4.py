# Faster R-CNN in the C4 style of the paper's detectors (Ren et al., NIPS
# 2015; Chen et al., NIPS 2017): one stride-16 trunk map, no FPN; the RPN and
# the RoI head both work on it, and fc6 / fc7 of the trunk's classifier are
# the RoI head's `roi_head.bbox_head.shared_fcs.0/1`. Everything but the
# trunk: faster_rcnn_{vgg16,alexnet,vggm}_c4.py add the trunk, its channel
# counts and its pool5 size.
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        # torchvision's ImageNet normalisation (RGB, 0-255 scale).
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        # MMDetection default; multiples of 32 also make every mmkd trunk
        # produce exactly H/16 x W/16 maps (same anchor grid for KD).
        pad_size_divisor=32),
    neck=None,  # C4-style: one stride-16 map, no FPN (as in the paper).
    rpn_head=dict(
        type='RPNHead',
        anchor_generator=dict(
            type='AnchorGenerator',
            # 3 scales x 3 ratios, stride 16 (Ren et al., 2015, Sec. 3.1.1):
            # scales 8/16/32 x stride 16 = 128/256/512 px anchors.
            scales=[8, 16, 32],
            ratios=[0.5, 1.0, 2.0],
            strides=[16]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),  # MMDetection RPN default
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', sampling_ratio=0),
            featmap_strides=[16]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            num_classes=80,  # COCO; dataset configs' users override it
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                # Fast R-CNN's target normalisation (MMDetection default).
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    # Training / testing settings: MMDetection's faster-rcnn_r50_fpn.py
    # (nms_pre is per level there; here the single level has all anchors -
    # py-faster-rcnn used 12000/2000 for training and 6000/300 for testing).
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,  # Ren et al., 2015, Sec. 3.1.2
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=256,  # 256 anchors per image, up to 1:1 (Ren et al.)
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=2000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),  # Ren et al., 2015
            min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,  # Girshick, 2015, Sec. 2.3
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=512,  # MMDetection default (Fast R-CNN: 128 / image)
                pos_fraction=0.25,  # Girshick, 2015, Sec. 2.3
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(
            nms_pre=1000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100)))
