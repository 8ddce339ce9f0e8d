# KITTI 2D object detection (Car / Pedestrian / Cyclist) from the COCO json
# written by tools/dataset_converters/kitti2coco.py (train / val split of
# KITTI's training set, since the test labels are not public). Loaders and
# batch sizes as coco_detection.py.
_base_ = './coco_detection.py'
data_root = 'data/kitti/'
classes = ('Car', 'Pedestrian', 'Cyclist')  # KITTI's evaluated classes
backend_args = None

train_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    # Not pinned by the paper: shorter side 600 as for the other datasets
    # (Ren et al., 2015); the long side may reach 2000 because KITTI frames
    # are about 1242 x 375 (3.3 : 1).
    dict(type='Resize', scale=(2000, 600), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(2000, 600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/kitti_train.json',
        data_prefix=dict(img='training/image_2/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/kitti_val.json',
        data_prefix=dict(img='training/image_2/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# KITTI AP at per-class IoU (Car 0.7, Pedestrian / Cyclist 0.5), 40 recall
# points (KITTI's official metric since 2019), per difficulty level, plus
# COCO AP.
val_evaluator = dict(
    _delete_=True,
    type='KittiMetric',
    ann_file=data_root + 'annotations/kitti_val.json',
    ap_mode='R40',
    difficulties=['easy', 'moderate', 'hard'],
    backend_args=backend_args)
test_evaluator = val_evaluator
