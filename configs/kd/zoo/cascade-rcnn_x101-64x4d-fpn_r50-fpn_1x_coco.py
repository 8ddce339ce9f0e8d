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
    # MMDetection's R50-FPN with mmkd's AMP-safe RPN head and RoI extractor,
    # as frcnn_r101-fpn_r50-fpn_1x_coco.py (named mmkd.*: the student's
    # dicts keep MMDetection's scope).
    student=dict(
        _base_.model,
        rpn_head=dict(_base_.model.rpn_head, type='mmkd.AmpSafeRPNHead'),
        roi_head=dict(
            _base_.model.roi_head,
            bbox_roi_extractor=dict(
                _base_.model.roi_head.bbox_roi_extractor,
                type='mmkd.AmpSafeRoIExtractor'))),
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
# mmkd's data loading and runtime, as frcnn_r101-fpn_r50-fpn_1x_coco.py:
# checked annotation files and image decoding; checkpoints written
# atomically and carrying the random generator states, so that --resume
# continues as the uninterrupted run; the schedule holds still on a batch
# skipped for non-finite losses.
train_dataloader = dict(
    dataset=dict(
        type='mmkd.CheckedCocoDataset',
        pipeline=[
            dict(
                _base_.train_dataloader.dataset.pipeline[0],
                type='mmkd.CheckedLoadImageFromFile'),
            *_base_.train_dataloader.dataset.pipeline[1:]
        ]))
val_dataloader = dict(
    dataset=dict(
        type='mmkd.CheckedCocoDataset',
        pipeline=[
            dict(
                _base_.val_dataloader.dataset.pipeline[0],
                type='mmkd.CheckedLoadImageFromFile'),
            *_base_.val_dataloader.dataset.pipeline[1:]
        ]))
test_dataloader = val_dataloader
default_hooks = dict(
    param_scheduler=dict(type='mmkd.SkipAwareParamSchedulerHook'),
    checkpoint=dict(backend_args=dict(backend='atomic_local')))
custom_hooks = [dict(type='RNGStateHook')]
