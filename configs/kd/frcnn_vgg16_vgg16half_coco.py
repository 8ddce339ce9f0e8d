# Distillation on MS-COCO 2017 across input resolutions (Chen et al., NIPS
# 2017): a VGG16 teacher at the full scale (shorter side 600) teaches the
# same VGG16 detector working on half-size images (shorter side 300), whose
# trunk costs about 4x less. The student is
# configs/faster_rcnn/frcnn_vgg16_coco.py with the pipelines below. Train the
# teacher first:
#   python tools/train.py configs/faster_rcnn/frcnn_vgg16_coco.py
_base_ = [
    '../faster_rcnn/frcnn_vgg16_coco.py', '../_base_/distill/chen2017.py'
]
# The paper's terms and weights, its hint weight gamma included: not tuned
# for this pair (chen2017.py: what gamma multiplies, why it is kept, and how
# to choose it on the validation split).
model = dict(
    _base_.distiller,  # the paper's terms and weights, conv5 hints
    _delete_=True,
    student=_base_.model,
    # Paths are relative to the repository root (where the tools run); the
    # teacher's last checkpoint (12 epochs).
    teacher='configs/faster_rcnn/frcnn_vgg16_coco.py',
    teacher_ckpt='work_dirs/frcnn_vgg16_coco/epoch_12.pth',
    # The teacher sees the real full-scale image (the pipelines below load
    # it once at the teacher's scale and give the student its half-size
    # copy); the student's RoIs are scaled by 2 for the teacher's RoI head.
    teacher_input_scale=2.0,
    # No RPN distillation: it is per anchor, and the student's anchors
    # tile the half-size image while the teacher's tile the full-size one,
    # so they do not line up (the distiller refuses RPN terms with
    # teacher_input_scale != 1).
    distill_losses=dict(
        _base_.distiller.distill_losses, rpn_kd=None, rpn_reg=None),
    # conv5 of both has 512 channels; the 1x1 adaptation layer is still
    # used (Sec. 3.3). The student's map is half the teacher's size and
    # the hint loss resizes it (bilinear) to the teacher's.
    adapters=[dict(type='HintAdapter', in_channels=512, out_channels=512)])
# The pipelines: the image is loaded and resized once, at the teacher's
# (full) scale of the dataset config (shorter side 600, longer side <=
# 1000), and flipped for both; StudentDownscale then gives the student the
# same image at half size (shorter side 300) with area interpolation
# (antialiased: each student pixel is the mean of 2 x 2 teacher pixels) and
# keeps the full image for the teacher; PackDistillInputs packs both.
train_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='StudentDownscale', scale_factor=0.5),
    dict(type='PackDistillInputs')
]
# Testing runs the student only: the same half-size image, no teacher copy.
test_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='StudentDownscale', scale_factor=0.5, keep_teacher_img=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
