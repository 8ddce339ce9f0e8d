"""What the distillation terms see, logged beside the losses (``diag.*``).

With ``TwoStageDistiller(diagnostics=N)`` every iteration logs, for the
terms that are on:

- ``diag.rpn_bound_active`` / ``diag.rcn_bound_active``: the share of
  positives where the teacher bound is active (``e_s + m > e_t``: the
  student is pushed towards the ground truth); 0 means the student already
  beats the teacher everywhere, 1 that the bound never relaxes anything.
- ``diag.t_rpn_acc`` / ``diag.t_rcn_acc``: the teacher's accuracy on the
  student's sampled anchors / RoIs (objectness, or the argmax class with
  background), against the student's targets.
- ``diag.t_rpn_entropy`` / ``diag.t_rcn_entropy``: the mean entropy (nats)
  of the teacher's soft targets on those samples: 0 for one-hot targets,
  ``log(C + 1)`` for uniform ones.

and every ``N``-th iteration ``diag.grad_<key>``: the L2 norm of the
gradient of each loss term with respect to the student's parameters (the
terms' pull on the weights, before the optimizer). None of these keys holds
the word ``loss``: MMEngine logs them and does not add them to the loss.
"""
from typing import Dict, Iterable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@torch.no_grad()
def bound_active(student_reg: Tensor, teacher_reg: Tensor, target: Tensor,
                 weight: Optional[Tensor], margin: float) -> Tensor:
    """Share of the ``(N, 4)`` samples where ``e_s + margin > e_t``."""
    if student_reg.numel() == 0:
        return student_reg.new_zeros(())
    if weight is not None and weight.dim() == 1:
        weight = weight[:, None]
    w = 1.0 if weight is None else weight
    e_s = (w * (student_reg.float() - target)**2).sum(1)
    e_t = (w * (teacher_reg.float() - target)**2).sum(1)
    return (e_s + margin > e_t).float().mean()


@torch.no_grad()
def teacher_cls_stats(logits: Tensor, labels: Tensor, *,
                      sigmoid: bool) -> Dict[str, Tensor]:
    """Accuracy and mean entropy of the teacher's classification.

    Args:
        logits: ``(N,)`` objectness logits (``sigmoid=True``; label 0 is the
            foreground, as in MMDetection's RPN targets) or
            ``(N, C + 1)`` class logits with the background last.
        labels: ``(N,)`` the student's targets (the background is ``C``).
    """
    if logits.numel() == 0:
        zero = logits.new_zeros(())
        return dict(acc=zero, entropy=zero)
    logits = logits.float()
    if sigmoid:
        p_fg = logits.sigmoid()
        correct = (p_fg > 0.5) == (labels == 0)
        entropy = -(
            F.logsigmoid(logits) * p_fg + F.logsigmoid(-logits) * (1 - p_fg))
    else:
        correct = logits.argmax(1) == labels
        log_p = logits.log_softmax(1)
        entropy = -(log_p.exp() * log_p).sum(1)
    return dict(acc=correct.float().mean(), entropy=entropy.mean())


def gradient_norms(losses: Dict[str, Tensor],
                   params: Iterable[nn.Parameter]) -> Dict[str, Tensor]:
    """``diag.grad_<key>``: the norm of each loss term's gradient with
    respect to ``params`` (the graph is kept for the real backward)."""
    params = [p for p in params if p.requires_grad]
    norms = {}
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        total = sum(value) if isinstance(value, list) else value
        if not total.requires_grad:
            continue
        grads = torch.autograd.grad(
            total, params, retain_graph=True, allow_unused=True)
        squared = sum(g.float().pow(2).sum() for g in grads if g is not None)
        name = key.split('.', 1)[-1].replace('loss_', '')
        norms[f'diag.grad_{name}'] = torch.as_tensor(squared).sqrt().detach()
    return norms
