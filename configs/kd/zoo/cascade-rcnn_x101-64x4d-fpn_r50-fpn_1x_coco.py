# Distillation on MS-COCO 2017 of two MMDetection model-zoo Cascade R-CNNs:
# X101-64x4d-FPN (teacher, zoo box AP 44.7 after 1x) -> R50-FPN (student,
# 40.3 trained alone for 1x). The student is MMDetection's own config (data,
# 1x schedule, ImageNet initialisation); the terms and weights are the
# paper's (configs/_base_/distill/chen2017.py). Each of the student's three
# stages samples its own RoIs (from the previous stage's refined boxes) and
# learns from the teacher's stage of the same index on them (same IoU
# threshold, same box coder); a stage's terms are weighted by the student's
# stage_loss_weights (1, 0.5, 0.25), as its own losses are.
_base_ = [
    'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
    '../../_base_/distill/chen2017.py'
]
# mmkd's scope: finds TwoStageDistiller and mmkd's modules, and (a child of
# MMDetection's) every MMDetection type of the student's config.
default_scope = 'mmkd'
model = dict(
    _base_.distiller,  # the paper's terms and weights
    _delete_=True,
    student=_base_.model,
    # MMDetection's config and model-zoo checkpoint; the teacher is frozen
    # and never re-initialised:
    #   wget -P checkpoints/ https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/cascade_rcnn_x101_64x4d_fpn_1x_coco/cascade_rcnn_x101_64x4d_fpn_1x_coco_20200515_075702-43ce6a30.pth  # noqa: E501
    teacher='mmdet::cascade_rcnn/cascade-rcnn_x101-64x4d_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/cascade_rcnn_x101_64x4d_fpn_1x_coco/cascade_rcnn_x101_64x4d_fpn_1x_coco_20200515_075702-43ce6a30.pth',  # noqa: E501
    # Hints on all five FPN levels, P2-P6, one 1x1 256 -> 256 adaptation
    # layer per level: as frcnn_x101-64x4d-fpn_r50-fpn_1x_coco.py (the
    # ResNeXt teacher's FPN has 256 channels too).
    hint_levels=[(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)],
    adapters=dict(type='HintAdapter', in_channels=256, out_channels=256))
# mmkd's runtime: checkpoints written atomically and carrying the random
# generator states, so that --resume continues as the uninterrupted run.
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')))
custom_hooks = [dict(type='RNGStateHook')]
