# MMDetection's PASCAL VOC schedule (faster-rcnn_r50_fpn_1x_voc0712.py):
# 4 epochs over voc0712.py's 3x repeated VOC07+12 trainval (~12 passes),
# SGD lr 0.01 for a total batch of 16, one step at epoch 3. (py-faster-rcnn
# trained VGG16 for 70k iterations of 1 image at lr 0.001 with a step at 50k,
# about 4 passes over VOC07+12 - a shorter, smaller-batch equivalent.)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=4,
        by_epoch=True,
        milestones=[3],
        gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))

# Scales the learning rate linearly when the total batch size differs
# (enable with tools/train.py --auto-scale-lr); 8 GPUs x 2 images.
auto_scale_lr = dict(enable=False, base_batch_size=16)
