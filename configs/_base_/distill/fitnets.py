# FitNets (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015) as
# a detector-distillation baseline: the hint alone, an adapted student layer
# regressed onto a teacher layer, with the RPN and RoI terms of Chen et al.
# off. It is Chen et al.'s hint term (their Sec. 3.3 takes it from FitNets),
# so the table of methods can name it. A config inherits this file beside
# a student baseline, or beside a distillation config, and uses its terms:
#   _base_ = ['../faster_rcnn/<student>.py', '../_base_/distill/fitnets.py']
#   model = dict(_delete_=True, **_base_.fitnets, student=_base_.model,
#                teacher=..., teacher_ckpt=..., adapters=[...])
# The variable is named after the method (not `distiller`, as in
# chen2017.py), so that a config can inherit it beside a distillation config
# built on chen2017.py: MMEngine refuses a name that two bases define.
fitnets = dict(
    type='TwoStageDistiller',
    distill_losses=dict(
        # FitNets trains the guided layer on the hint as a first stage of its
        # own, so it gives no weight against the detection losses; 0.5 is
        # Chen et al.'s gamma for the same term (Eq. 1), a relative error
        # (HintAdaptLoss, normalize='teacher').
        hint=dict(type='HintAdaptLoss', p=2, loss_weight=0.5)),
    # As in chen2017.py: the only level of a C4 trunk; FPN pairs override it.
    hint_levels=[(0, 0)])
