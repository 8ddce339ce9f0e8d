# Faster R-CNN in the C4 style of the paper's detectors (Ren et al., NIPS
# 2015; Chen et al., NIPS 2017): one stride-16 trunk map, no FPN; the RPN and
# the RoI head both work on it, and fc6 / fc7 of the trunk's classifier are
# the RoI head's `roi_head.bbox_head.shared_fcs.0/1`. Everything but the
# trunk: faster_rcnn_{vgg16,alexnet,vggm}_c4.py add the trunk, its channel
# counts and its pool5 size.
# The training settings are py-faster-rcnn's (Ren et al.'s code, which the
# paper's detectors follow); where MMDetection's differ, the paper's are
# used, and every remaining deviation is marked "Deviation".
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        # torchvision's ImageNet normalisation (RGB, 0-255 scale), as the
        # torchvision ImageNet weights the configs start from. Deviation:
        # py-faster-rcnn's Caffe models take BGR with the mean subtracted
        # and std 1 (see faster_rcnn_vggm_c4.py for Caffe weights).
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        # MMDetection default; multiples of 32 also make every mmkd trunk
        # produce exactly H/16 x W/16 maps (same anchor grid for KD).
        pad_size_divisor=32),
    neck=None,  # C4-style: one stride-16 map, no FPN (as in the paper).
    rpn_head=dict(
        # MMDetection's RPNHead with float32 NMS (runs under --amp on CPU).
        type='AmpSafeRPNHead',
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
        # Deviation: a sigmoid objectness, MMDetection's RPN; py-faster-rcnn
        # has a 2-way softmax, the same model parametrised differently.
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        # Smooth L1 (the paper's L_sL1) with sigma = 3 as py-faster-rcnn's
        # rpn_loss_bbox: beta = 1 / sigma^2.
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            # MMDetection's SingleRoIExtractor, float32 RoI pooling (--amp).
            type='AmpSafeRoIExtractor',
            # RoI max pooling (Girshick, 2015) as the paper's detectors.
            # Deviation: mmcv's RoIPool has no CPU kernel, so this is
            # RoIAlign in max mode without the half-pixel offset: the max
            # over bilinear samples of each bin, without RoIPool's rounding
            # of the RoI to the feature grid. On GPUs
            # roi_layer=dict(_delete_=True, type='RoIPool', output_size=7)
            # (6 for AlexNet / VGG-M) is the exact layer.
            roi_layer=dict(
                type='RoIAlign',
                sampling_ratio=0,
                pool_mode='max',
                aligned=False),
            featmap_strides=[16]),
        bbox_head=dict(
            # fc6 / fc7 with dropout 0.5 after each, as trained on ImageNet
            # and in Fast R-CNN; the same keys as Shared2FCBBoxHead.
            type='Shared2FCDropoutBBoxHead',
            dropout=0.5,
            num_classes=80,  # COCO; dataset configs' users override it
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                # Fast R-CNN's target normalisation (MMDetection default).
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            # Smooth L1, the paper's L_sL1 (Fast R-CNN, sigma = 1).
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    # Training / testing settings: py-faster-rcnn's (lib/fast_rcnn/config.py
    # and experiments/cfgs/faster_rcnn_end2end.yml) in MMDetection's terms.
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
            # Deviation: Ren et al. (Sec. 3.3) ignore the anchors that cross
            # the image border in training; MMDetection's -1 keeps them (and
            # small test images, where every anchor crosses it, still work).
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            # 12000 boxes before NMS, 2000 proposals after (one level: all
            # anchors compete, as in py-faster-rcnn).
            nms_pre=12000,
            max_per_img=2000,
            nms=dict(type='nms', iou_threshold=0.7),  # Ren et al., 2015
            # Deviation: py-faster-rcnn drops proposals under 16 px of the
            # original image; MMDetection keeps them all.
            min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,  # Girshick, 2015, Sec. 2.3
                neg_iou_thr=0.5,  # background in [0, 0.5), as end2end
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=128,  # RoIs per image (py-faster-rcnn BATCH_SIZE)
                pos_fraction=0.25,  # Girshick, 2015, Sec. 2.3
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(
            nms_pre=6000,  # py-faster-rcnn TEST.RPN_PRE_NMS_TOP_N
            max_per_img=300,  # ... TEST.RPN_POST_NMS_TOP_N
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            score_thr=0.05,  # py-faster-rcnn's test_net.py
            nms=dict(type='nms', iou_threshold=0.3),  # TEST.NMS
            max_per_img=100)))
