"""FastCocoMetric gives exactly CocoMetric's numbers on the generated data."""
import os.path as osp

from mmkd.testing import load_tool

TOOL = load_tool('analysis_tools/compare_coco_eval')


def test_same_numbers_as_pycocotools(tiny_data):
    ann_file = osp.join(tiny_data, 'annotations', 'instances_train.json')
    preds = TOOL.jittered_predictions(ann_file)
    ours, _ = TOOL.evaluate('FastCocoMetric', ann_file, preds)
    ref, _ = TOOL.evaluate('CocoMetric', ann_file, preds)
    assert set(ours) == set(ref)
    assert 0.0 < ref['coco/bbox_mAP_50'] < 1.0
    # CocoMetric rounds to 3 decimals: the numbers must be the same.
    assert ours == ref
