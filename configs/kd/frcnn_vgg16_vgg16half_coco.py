# Distillation on MS-COCO 2017 across input resolutions (Chen et al., NIPS
# 2017): a VGG16 teacher at the full scale (shorter side 600) teaches the
# same VGG16 detector working on half-size images (shorter side 300), whose
# trunk costs about 4x less. The student is
# configs/faster_rcnn/frcnn_vgg16_coco.py with the pipelines below. Train the
# teacher first:
#   python tools/train.py configs/faster_rcnn/frcnn_vgg16_coco.py
_base_ = ['../faster_rcnn/frcnn_vgg16_coco.py']
model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    student=_base_.model,
    # Paths are relative to the repository root (where the tools run).
    teacher='configs/faster_rcnn/frcnn_vgg16_coco.py',
    # The teacher's last checkpoint (12 epochs).
    teacher_ckpt='work_dirs/frcnn_vgg16_coco/epoch_12.pth',
    # The teacher sees the student's batch upsampled 2x, i.e. at its own
    # full scale; the student's RoIs are scaled by 2 for the teacher's
    # RoI head.
    teacher_input_scale=2.0,
    # mu, the weight of the hard (ground-truth) classification loss; the
    # soft term gets 1 - mu (Sec. 3.1). The paper does not give mu.
    hard_weight=0.5,
    distill_losses=dict(
        # No RPN distillation: it is per anchor, and the student's anchors
        # tile the half-size image while the teacher's tile the full-size
        # one, so they do not line up (the distiller refuses RPN terms with
        # teacher_input_scale != 1).
        rpn_kd=None,
        rpn_reg=None,
        # Sec. 3.1: class-weighted soft cross-entropy, w_bg = 1.5 for the
        # background, 1 for the objects, temperature T = 1.
        rcn_kd=dict(
            type='WeightedKDLoss', fg_weight=1.0, bg_weight=1.5, T=1.0,
            loss_weight=1.0),
        # Sec. 3.2: teacher-bounded regression, nu = 0.5, times lambda = 1
        # of Eq. 1 (lambda also weighs the students' own loss_bbox, 1.0 in
        # the base model): loss_weight = lambda * nu. The margin m is not
        # given by the paper; 0 is the tightest bound.
        rcn_reg=dict(
            type='TeacherBoundedRegLoss', margin=0.0, loss_weight=0.5),
        # Sec. 3.3 and Eq. 1: L2 hint loss weighted by gamma = 0.5.
        hint=dict(type='HintAdaptLoss', p=2, loss_weight=0.5)),
    # Hint: conv5 of both (512 channels each, so no adaptation layer);
    # the student's map is half the teacher's size and the hint loss
    # resizes it (bilinear) to the teacher's.
    hint_levels=[(0, 0)],
    adapters=None)
# The student's pipelines: the baseline's at half scale (shorter side 300,
# longer side <= 500, Resize as in the dataset config).
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(500, 300), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='Resize', scale=(500, 300), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
