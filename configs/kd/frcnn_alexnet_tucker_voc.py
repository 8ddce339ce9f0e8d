# Distillation on PASCAL VOC (07+12 trainval, 2007 test): AlexNet teacher ->
# Tucker student (Chen et al., NIPS 2017, Table 1). The student is
# configs/faster_rcnn/frcnn_tucker_voc.py (data, schedule, initialisation);
# the teacher is frcnn_alexnet_voc.py. Train the teacher first:
#   python tools/train.py configs/faster_rcnn/frcnn_alexnet_voc.py
_base_ = ['../faster_rcnn/frcnn_tucker_voc.py']
model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    student=_base_.model,
    # Paths are relative to the repository root (where the tools run).
    teacher='configs/faster_rcnn/frcnn_alexnet_voc.py',
    # The teacher's last checkpoint (4 epochs).
    teacher_ckpt='work_dirs/frcnn_alexnet_voc/epoch_4.pth',
    # mu, the weight of the hard (ground-truth) classification loss; the
    # soft term gets 1 - mu (Sec. 3.1). The paper does not give mu.
    hard_weight=0.5,
    distill_losses=dict(
        # RPN (Sec. 3): the same terms per anchor; the objectness is a
        # sigmoid, i.e. the two classes {fg, bg} with w_bg = 1.5, T = 1.
        rpn_kd=dict(
            type='WeightedKDLoss', fg_weight=1.0, bg_weight=1.5, T=1.0,
            loss_weight=1.0),
        rpn_reg=dict(
            type='TeacherBoundedRegLoss', margin=0.0, loss_weight=0.5),
        # Sec. 3.1: class-weighted soft cross-entropy, w_bg = 1.5 for the
        # background, 1 for the objects, temperature T = 1.
        rcn_kd=dict(
            type='WeightedKDLoss', fg_weight=1.0, bg_weight=1.5, T=1.0,
            loss_weight=1.0),
        # Sec. 3.2: teacher-bounded regression, nu = 0.5, times lambda = 1
        # of Eq. 1 (lambda also weighs the students' own loss_bbox, 1.0 in
        # the base model): loss_weight = lambda * nu. The margin m is not
        # given by the paper; 0 is the tightest bound.
        rcn_reg=dict(
            type='TeacherBoundedRegLoss', margin=0.0, loss_weight=0.5),
        # Sec. 3.3 and Eq. 1: L2 hint loss weighted by gamma = 0.5.
        hint=dict(type='HintAdaptLoss', p=2, loss_weight=0.5)),
    # Hint: conv5 of both trunks (C4 style: the only level of
    # extract_feat); both have stride 16, so the maps have the same size.
    hint_levels=[(0, 0)],
    # Both conv5 maps have 256 channels: no adaptation layer is
    # needed (give adapters=[dict(type='HintAdapter', in_channels=256,
    # out_channels=256)] to add one anyway).
    adapters=None)
