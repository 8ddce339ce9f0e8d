"""mmkd.analysis.roi_scores: the statistics, on a stand-in detector whose
proposals and class probabilities are set by hand."""
import math

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import nn

from mmkd.analysis.roi_scores import roi_score_stats


class _Detector(nn.Module):
    """Stand-in two-stage detector with fixed proposals and class logits;
    ``shift`` is added to the inputs by its preprocessor, so a test can see
    which inputs each model was given."""

    def __init__(self, proposals, logits, shift=0.0):
        super().__init__()
        self.proposals, self.logits, self.shift = proposals, logits, shift
        self.seen = []
        detector = self

        class RPN:

            def predict(self, feats, samples, rescale):
                return [InstanceData(bboxes=b) for b in detector.proposals]

        class RoIHead:

            def _bbox_forward(self, feats, rois):
                assert len(rois) == len(detector.logits)
                return dict(cls_score=detector.logits)

        self.rpn_head, self.roi_head = RPN(), RoIHead()

    def data_preprocessor(self, data, training):
        return dict(
            inputs=torch.stack(data['inputs']).float() + self.shift,
            data_samples=data['data_samples'])

    def extract_feat(self, inputs):
        self.seen.append(float(inputs.mean()))
        return (inputs, )


def _batch(*images):
    """A batch of images, each ``(gt boxes, gt labels, scale factor)``."""
    samples = []
    for boxes, labels, scale in images:
        sample = DetDataSample(metainfo=dict(scale_factor=scale))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            labels=torch.tensor(labels))
        samples.append(sample)
    return dict(
        inputs=[torch.zeros(3, 8, 8) for _ in samples], data_samples=samples)


def _logits(*probs):
    return torch.tensor(probs).log()


def test_stats_of_positives_and_negatives_by_hand():
    # Two classes + background (last). Image 1: a ground truth of class 1
    # at (0, 0, 10, 10) in original pixels, resized by 2 (width) and 3
    # (height) to (0, 0, 20, 30); image 2: class 0 at (10, 10, 20, 20).
    proposals = [
        torch.tensor([
            [0., 0., 20., 30.],  # IoU 1: positive
            [0., 0., 12., 30.],  # IoU 0.6 (0.33 with w and h swapped)
            [0., 0., 20., 12.],  # IoU 0.4: negative
            [40., 40., 60., 60.],  # IoU 0: negative
        ]),
        torch.tensor([[10., 10., 20., 20.], [0., 0., 5., 5.]]),
    ]
    probs = [(0.1, 0.6, 0.3), (0.5, 0.02, 0.48), (0.2, 0.2, 0.6),
             (0.1, 0.1, 0.8), (0.7, 0.2, 0.1), (0.3, 0.3, 0.4)]
    model = _Detector(proposals, _logits(*probs))
    batch = _batch(([[0, 0, 10, 10]], [1], (2.0, 3.0)),
                   ([[10, 10, 20, 20]], [0], (1.0, 1.0)))
    stats = roi_score_stats(model, [batch])
    assert stats['positives'] == 3 and stats['negatives'] == 3
    assert stats['p_bg_pos'] == pytest.approx((0.3 + 0.48 + 0.1) / 3)
    assert stats['p_true'] == pytest.approx((0.6 + 0.02 + 0.7) / 3)
    # the second positive is called class 0, not its class 1
    assert stats['acc_pos'] == pytest.approx(2 / 3)
    assert stats['kept_pos'] == pytest.approx(2 / 3)  # 0.02 < 0.05
    assert stats['p_bg_neg'] == pytest.approx((0.6 + 0.8 + 0.4) / 3)
    assert 'teacher_p_bg_pos' not in stats
    # the detector's own score threshold decides what is kept
    stats = roi_score_stats(model, [batch], score_thr=0.01)
    assert stats['kept_pos'] == pytest.approx(1.0)


def test_optimal_target_of_the_weighted_objective():
    """mu CE(label) + (1 - mu) s sum_c -w_c p_t(c) log p_s(c) is smallest
    at p_s ∝ mu [c = label] + (1 - mu) s w p_t: checked by hand and
    against a numerical minimisation."""
    from mmkd.analysis.roi_scores import Objective, optimal_target
    teacher = torch.tensor([[0.2, 0.4, 0.4]])
    label = torch.tensor([1])
    weighted = Objective(
        hard_weight=0.5, soft_weight=1.0, fg_weight=1.0, bg_weight=1.5)
    # mass: class 0: 0.5 * 0.2 = 0.1; class 1: 0.5 + 0.5 * 0.4 = 0.7;
    # background: 0.5 * 1.5 * 0.4 = 0.3; total 1.1
    target = optimal_target(teacher, label, weighted)
    assert target[0].tolist() == pytest.approx(
        [0.1 / 1.1, 0.7 / 1.1, 0.3 / 1.1])
    plain = optimal_target(teacher, label, weighted._replace(bg_weight=1.0))
    assert plain[0, -1] == pytest.approx(0.2)
    logits = torch.zeros(1, 3, requires_grad=True)
    optimizer = torch.optim.LBFGS([logits], max_iter=200)

    def loss():
        optimizer.zero_grad()
        log_p = logits.log_softmax(1)
        weight = torch.tensor([1.0, 1.0, 1.5])
        value = 0.5 * -log_p[0, 1] + 0.5 * -(weight * teacher * log_p).sum()
        value.backward()
        return value

    optimizer.step(loss)
    assert logits.softmax(1)[0].tolist() == pytest.approx(
        target[0].tolist(), abs=1e-4)


def test_teacher_scored_on_the_students_proposals_from_raw_inputs():
    proposals = [torch.tensor([[0., 0., 10., 10.], [30., 30., 40., 40.]])]
    student = _Detector(
        proposals, _logits((0.7, 0.1, 0.2), (0.1, 0.1, 0.8)), shift=1.0)
    teacher = _Detector([torch.zeros(0, 4)],
                        _logits((0.05, 0.9, 0.05), (0.01, 0.01, 0.98)),
                        shift=5.0)
    from mmkd.analysis.roi_scores import Objective
    batch = _batch(([[0, 0, 10, 10]], [1], (1.0, 1.0)))
    stats = roi_score_stats(
        student, [batch],
        teacher=teacher,
        objective=Objective(
            hard_weight=0.5, soft_weight=1.0, fg_weight=1.0, bg_weight=1.5))
    # each model's own preprocessing of the raw (all-zero) images
    assert student.seen == [1.0] and teacher.seen == [5.0]
    assert stats['p_true'] == pytest.approx(0.1)
    assert stats['teacher_p_true'] == pytest.approx(0.9)
    assert stats['teacher_p_bg_pos'] == pytest.approx(0.05)
    assert stats['teacher_p_bg_neg'] == pytest.approx(0.98)
    # the target on the positive: background mass 0.5 * 1.5 * 0.05 over
    # 0.5 * 0.05 + (0.5 + 0.5 * 0.9) + 0.0375 = 1.0125
    assert stats['target_bg_pos'] == pytest.approx(0.0375 / 1.0125)
    assert 'target_bg_pos' not in roi_score_stats(
        student, [batch], teacher=teacher)


def test_no_positives_gives_nan_not_an_error():
    model = _Detector([torch.tensor([[50., 50., 60., 60.]])],
                      _logits((0.2, 0.2, 0.6)))
    stats = roi_score_stats(model,
                            [_batch(([[0, 0, 10, 10]], [0], (1.0, 1.0)))])
    assert stats['positives'] == 0 and math.isnan(stats['p_bg_pos'])
    assert stats['p_bg_neg'] == pytest.approx(0.6)


def test_objective_is_read_from_the_config():
    """mu, the soft term's weight and the class weights come from the
    distillation config given; what it leaves out is the default of
    TwoStageDistiller and WeightedKDLoss (chen2017.py states the paper's)."""
    from mmengine.config import Config

    from mmkd.analysis.roi_scores import Objective, distiller_objective
    from mmkd.testing import ROOT
    paper = Config.fromfile(f'{ROOT}/configs/_base_/distill/chen2017.py')
    kd = paper.distiller.distill_losses.rcn_kd
    assert distiller_objective(paper.distiller) == Objective(
        paper.distiller.hard_weight, kd.loss_weight, kd.fg_weight,
        kd.bg_weight)
    model = dict(
        hard_weight=0.3,
        distill_losses=dict(
            rcn_kd=dict(type='WeightedKDLoss', bg_weight=1.0,
                        loss_weight=2.0)))
    assert distiller_objective(model) == Objective(0.3, 2.0, 1.0, 1.0)
    model = dict(distill_losses=dict(rcn_kd=dict(type='WeightedKDLoss')))
    assert distiller_objective(model) == Objective(0.5, 1.0, 1.0, 1.5)
    model['distill_losses']['rcn_kd']['T'] = 2.0
    assert distiller_objective(model) is None  # the target is at T = 1
    assert distiller_objective(dict(distill_losses=dict(rcn_kd=None))) is None
