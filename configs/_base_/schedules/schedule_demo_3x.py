# The demo teacher's schedule: three times the student's (schedule_demo.py),
# 12 epochs of SGD at lr 0.02 for a batch of 8 with tenfold decays after
# epochs 9 and 11, so that the teacher's validation mAP has levelled off
# before it teaches (the paper's teachers are converged detectors). It
# validates from epoch 9 on, where the decays decide the plateau: each
# validation on 500 images takes about 20 s on 2 CPU cores, and the eight
# earlier ones added 2.6 minutes to the demo. Validation does not change
# training (it runs on a copy of the random streams). A run shortened below
# 9 epochs validates only with --cfg-options train_cfg.val_begin=1.
_base_ = './schedule_demo.py'
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_begin=9)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[9, 11],
        gamma=0.1)
]
