# The generated dataset (synthetic_coco.py) with its instance masks, for
# Mask R-CNN: the training pipeline loads the masks (resized and flipped with
# the image), and both evaluators report box and mask mAP (COCO's bbox and
# segm metrics on the same detections).
_base_ = ['./synthetic_coco.py']
train_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = dict(metric=['bbox', 'segm'])
