# Distillation on MS-COCO 2017 of two MMDetection model-zoo Mask R-CNNs:
# R101-FPN (teacher, zoo box AP 40.8 / mask AP 36.6 after its 2x schedule)
# -> R50-FPN (student, 38.2 / 34.7 trained alone for 1x). The student is
# MMDetection's own config (data with masks, 1x schedule, ImageNet
# initialisation, box and mask evaluation); the terms and weights are the
# paper's (configs/_base_/distill/chen2017.py): RPN and box terms and hints
# as for Faster R-CNN. The student's mask head trains on its own loss on its
# sampled positives; the mask distillation term (distill_losses.mask_kd,
# beyond the paper) is off, as in chen2017.py.
# Name: <family>_<teacher>_<student>_<schedule>_<dataset>, as
# frcnn_r101-fpn_r50-fpn_1x_coco.py.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
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
    # and never re-initialised. Download it once and point teacher_ckpt at
    # the file (the URL also works: fetched into torch's hub cache):
    #   wget -P checkpoints/ https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/mask_rcnn_r101_fpn_2x_coco/mask_rcnn_r101_fpn_2x_coco_bbox_mAP-0.408__segm_mAP-0.366_20200505_071027-14b391c7.pth  # noqa: E501
    teacher='mmdet::mask_rcnn/mask-rcnn_r101_fpn_2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/mask_rcnn_r101_fpn_2x_coco/mask_rcnn_r101_fpn_2x_coco_bbox_mAP-0.408__segm_mAP-0.366_20200505_071027-14b391c7.pth',  # noqa: E501
    # Hints on all five FPN levels, P2-P6, each paired with the teacher's
    # level of the same stride, one 1x1 256 -> 256 adaptation layer per
    # level: as frcnn_r101-fpn_r50-fpn_1x_coco.py (the same trunks and FPN).
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
