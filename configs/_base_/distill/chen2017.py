# The paper's distillation terms and weights (Chen et al., NIPS 2017), shared
# by the distillation configs in configs/kd/:
#   distill_losses=_base_.paper_distill_losses
paper_distill_losses = dict(
    # RPN (Sec. 3): the same terms per anchor; the objectness is a
    # sigmoid, i.e. the two classes {fg, bg} with w_bg = 1.5, T = 1.
    rpn_kd=dict(
        type='WeightedKDLoss', fg_weight=1.0, bg_weight=1.5, T=1.0,
        loss_weight=1.0),
    rpn_reg=dict(type='TeacherBoundedRegLoss', margin=0.0, loss_weight=0.5),
    # Sec. 3.1: class-weighted soft cross-entropy, w_bg = 1.5 for the
    # background, 1 for the objects, temperature T = 1.
    rcn_kd=dict(
        type='WeightedKDLoss', fg_weight=1.0, bg_weight=1.5, T=1.0,
        loss_weight=1.0),
    # Sec. 3.2: teacher-bounded regression, nu = 0.5, times lambda = 1
    # of Eq. 1 (lambda also weighs the students' own loss_bbox, 1.0 in
    # the base model): loss_weight = lambda * nu. The margin m is not
    # given by the paper; 0 is the tightest bound.
    rcn_reg=dict(type='TeacherBoundedRegLoss', margin=0.0, loss_weight=0.5),
    # Sec. 3.3 and Eq. 1: L2 hint loss weighted by gamma = 0.5.
    hint=dict(type='HintAdaptLoss', p=2, loss_weight=0.5))
