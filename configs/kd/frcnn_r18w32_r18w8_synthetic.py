# The demo's distilled student: frcnn_r18w8_synthetic.py (the student, same
# schedule) distilled from frcnn_r18w32_synthetic.py (the teacher) with the
# paper's full objective. tools/demo.py sets teacher_ckpt to the teacher it
# trained; by hand, train the teacher first and pass
#   --cfg-options model.teacher_ckpt=work_dirs/<teacher>/epoch_N.pth
_base_ = ['../faster_rcnn/frcnn_r18w8_synthetic.py']
model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    student=_base_.model,
    teacher='configs/faster_rcnn/frcnn_r18w32_synthetic.py',
    teacher_ckpt='work_dirs/frcnn_r18w32_synthetic/epoch_4.pth',
    # mu: weight of the hard (ground-truth) classification loss; the soft
    # term gets 1 - mu. Not fixed by the paper; see the README's ablations.
    hard_weight=0.5,
    distill_losses=dict(
        # Chen et al. 2017, Eq. 3: w_bg = 1.5, w_fg = 1, temperature T = 1.
        rpn_kd=dict(type='WeightedKDLoss', fg_weight=1.0, bg_weight=1.5,
                    T=1.0),
        rcn_kd=dict(type='WeightedKDLoss', fg_weight=1.0, bg_weight=1.5,
                    T=1.0),
        # Eq. 4-5: nu = 0.5; margin m is not given by the paper (0 here).
        rpn_reg=dict(type='TeacherBoundedRegLoss', margin=0.0,
                     loss_weight=0.5),
        rcn_reg=dict(type='TeacherBoundedRegLoss', margin=0.0,
                     loss_weight=0.5),
        # Eq. 1 and 6: L2 hint. gamma = 4 instead of the paper's 0.5: the
        # hint here is a mean over the elements of a 64-channel stride-4
        # map, and gamma was chosen on the validation split (seed 0, val
        # mAP 0.102 / 0.114 / 0.132 / 0.132 for gamma 0.5 / 2 / 4 / 8).
        hint=dict(type='HintAdaptLoss', p=2, loss_weight=4.0)),
    # Hint on FPN level 0 (stride 4) of both; 16 student channels are
    # mapped to the teacher's 64 by a 1x1 adaptation layer (Sec. 3.3).
    hint_levels=[(0, 0)],
    adapters=[dict(type='HintAdapter', in_channels=16, out_channels=64)])
