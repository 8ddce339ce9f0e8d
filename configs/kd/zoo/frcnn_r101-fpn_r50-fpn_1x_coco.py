# Distillation on MS-COCO 2017 of two MMDetection model-zoo detectors:
# Faster R-CNN R101-FPN (teacher, zoo box AP 39.8 after its 2x schedule) ->
# R50-FPN (student, box AP 37.4 trained alone for 1x), the standard pair of
# detection-distillation papers. The student is MMDetection's own config
# (data, 1x schedule, ImageNet initialisation); the terms and weights are the
# paper's (configs/_base_/distill/chen2017.py). The other zoo pairs of this
# folder inherit this file and change the teacher (and the student).
# Name: frcnn_<teacher>_<student>_<schedule>_<dataset>; '-' joins the parts
# of one model name (r101-fpn), '_' separates the fields.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../../_base_/distill/chen2017.py'
]
# mmkd's scope: finds TwoStageDistiller and mmkd's modules, and (a child of
# MMDetection's) every MMDetection type of the student's config.
default_scope = 'mmkd'
model = dict(
    _base_.distiller,  # the paper's terms and weights
    _delete_=True,
    # MMDetection's R50-FPN with mmkd's AMP-safe RPN head and RoI extractor
    # (float32 NMS and RoI pooling under --amp on CPU, otherwise the same).
    # The student's dicts keep MMDetection's scope, so mmkd's types are
    # named with theirs (mmkd.*).
    student=dict(
        _base_.model,
        rpn_head=dict(_base_.model.rpn_head, type='mmkd.AmpSafeRPNHead'),
        roi_head=dict(
            _base_.model.roi_head,
            bbox_roi_extractor=dict(
                _base_.model.roi_head.bbox_roi_extractor,
                type='mmkd.AmpSafeRoIExtractor'))),
    # MMDetection's config and model-zoo checkpoint; the teacher is frozen
    # and never re-initialised. Download it once (the URL also works, it is
    # fetched into torch's hub cache) and point teacher_ckpt at the file:
    #   wget -P checkpoints/ https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_2x_coco/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth  # noqa: E501
    teacher='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_2x_coco/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth',  # noqa: E501
    # Hints on all five FPN levels, P2-P6 (strides 4-64), each paired with
    # the teacher's level of the same stride: the RPN reads all five, the
    # RoI head P2-P5. Each level's term is chen2017.py's hint (gamma times
    # the level's relative error), so the five add up to 5 x gamma; a
    # model.distill_losses.hint.loss_weight of gamma / 5 keeps one hint's
    # total. gamma is not tuned for this pair: see chen2017.py.
    hint_levels=[(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)],
    # One 1x1 adaptation layer per level (one dict: built once per hint
    # level), 256 -> 256 channels: both FPNs have 256 channels, and the paper
    # keeps the adapter even where channels match (Sec. 3.3). Per level, not
    # shared: the levels' statistics differ (P6 is a max-pooled P5, P2 comes
    # from the stride-4 stage), a shared layer would have to fit all of them
    # with one map, and per-level layers cost only 5 x 66k parameters, in
    # training only (the exported student has none).
    adapters=dict(type='HintAdapter', in_channels=256, out_channels=256))
# mmkd's data loading: MMDetection's CocoDataset with checked annotation
# files, boxes fitted to their images and images that do not decode skipped
# in training (named, and fatal, in testing).
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
# mmkd's runtime: checkpoints written atomically and carrying the random
# generator states, so that --resume continues as the uninterrupted run; the
# learning-rate schedule holds still on a batch skipped for non-finite losses
# (default_hooks.nonfinite.policy='skip').
default_hooks = dict(
    param_scheduler=dict(type='mmkd.SkipAwareParamSchedulerHook'),
    checkpoint=dict(backend_args=dict(backend='atomic_local')))
custom_hooks = [dict(type='RNGStateHook')]
