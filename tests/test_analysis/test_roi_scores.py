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
            inputs=data['inputs'][0][None].float() + self.shift,
            data_samples=data['data_samples'])

    def extract_feat(self, inputs):
        self.seen.append(float(inputs.mean()))
        return (inputs, )


def _batch(gt_boxes, gt_labels, scale=(1.0, 1.0)):
    sample = DetDataSample(metainfo=dict(scale_factor=scale))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(gt_boxes, dtype=torch.float32),
        labels=torch.tensor(gt_labels))
    return dict(inputs=[torch.zeros(3, 8, 8)], data_samples=[sample])


def _logits(*probs):
    return torch.tensor(probs).log()


def test_stats_of_positives_and_negatives_by_hand():
    # two classes + background (last); one ground truth of class 1 at
    # (0, 0, 10, 10), given in original-image pixels and scaled by 2
    proposals = [
        torch.tensor([
            [0., 0., 20., 20.],  # IoU 1: positive
            [0., 0., 20., 12.],  # IoU 0.6: positive
            [0., 0., 20., 8.],  # IoU 0.4: negative
            [40., 40., 60., 60.]
        ])  # IoU 0: negative
    ]
    probs = [(0.1, 0.6, 0.3), (0.5, 0.02, 0.48), (0.2, 0.2, 0.6),
             (0.1, 0.1, 0.8)]
    model = _Detector(proposals, _logits(*probs))
    stats = roi_score_stats(model,
                            [_batch([[0, 0, 10, 10]], [1], scale=(2.0, 2.0))])
    assert stats['positives'] == 2 and stats['negatives'] == 2
    assert stats['p_bg_pos'] == pytest.approx((0.3 + 0.48) / 2)
    assert stats['p_true'] == pytest.approx((0.6 + 0.02) / 2)
    assert stats['acc_pos'] == pytest.approx(0.5)  # the second is class 0
    assert stats['kept_pos'] == pytest.approx(0.5)  # 0.02 < 0.05
    assert stats['p_bg_neg'] == pytest.approx((0.6 + 0.8) / 2)
    assert 'teacher_p_bg_pos' not in stats


def test_teacher_scored_on_the_students_proposals_from_raw_inputs():
    proposals = [torch.tensor([[0., 0., 10., 10.], [30., 30., 40., 40.]])]
    student = _Detector(
        proposals, _logits((0.7, 0.1, 0.2), (0.1, 0.1, 0.8)), shift=1.0)
    teacher = _Detector([torch.zeros(0, 4)],
                        _logits((0.05, 0.9, 0.05), (0.01, 0.01, 0.98)),
                        shift=5.0)
    stats = roi_score_stats(
        student, [_batch([[0, 0, 10, 10]], [1])], teacher=teacher)
    # each model's own preprocessing of the raw (all-zero) images
    assert student.seen == [1.0] and teacher.seen == [5.0]
    assert stats['p_true'] == pytest.approx(0.1)
    assert stats['teacher_p_true'] == pytest.approx(0.9)
    assert stats['teacher_p_bg_pos'] == pytest.approx(0.05)
    assert stats['teacher_p_bg_neg'] == pytest.approx(0.98)


def test_no_positives_gives_nan_not_an_error():
    model = _Detector([torch.tensor([[50., 50., 60., 60.]])],
                      _logits((0.2, 0.2, 0.6)))
    stats = roi_score_stats(model, [_batch([[0, 0, 10, 10]], [0])])
    assert stats['positives'] == 0 and math.isnan(stats['p_bg_pos'])
    assert stats['p_bg_neg'] == pytest.approx(0.6)
