"""The reproduction (mmkd.demo.ablations): each row builds the model it
names, and the table's statistics are right."""
import argparse
import os.path as osp

import pytest

from mmkd.testing import ROOT

ALL_TERMS = {'rpn_kd', 'rcn_kd', 'rpn_reg', 'rcn_reg', 'hint'}
# row: the distillation terms that must be on (None: no distiller)
EXPECTED_TERMS = {
    'student': None,
    'hint': {'hint'},
    'kd': {'rpn_kd', 'rcn_kd'},
    'kd_reg': {'rpn_kd', 'rcn_kd', 'rpn_reg', 'rcn_reg'},
    'full': ALL_TERMS,
    'unweighted': ALL_TERMS,
    'l2_reg': ALL_TERMS,
}


def _tool():
    from mmkd.demo import ablations
    return ablations


def _build(config, options):
    """The model ``tools/train.py CONFIG --cfg-options OPTIONS`` builds."""
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope

    from mmkd.models.distillers.export import is_distiller
    from mmkd.registry import MODELS
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(
        ['--cfg-options', *options, 'model.teacher_ckpt=None'])
    cfg = Config.fromfile(osp.join(ROOT, config))
    if not is_distiller(cfg.model):
        args.cfg_options.pop('model.teacher_ckpt')
    cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmkd')
    return MODELS.build(cfg.model)


def test_rows_cover_the_papers_ablations():
    tool = _tool()
    assert set(tool.ROWS) == set(EXPECTED_TERMS)


@pytest.mark.parametrize('row', sorted(EXPECTED_TERMS))
def test_row_builds_the_model_it_names(row):
    tool = _tool()
    _, config, options = tool.ROWS[row]
    model = _build(config, options)
    expected = EXPECTED_TERMS[row]
    if expected is None:
        assert not hasattr(model, 'distill_losses')
        return
    losses = model.distill_losses
    assert set(losses) == expected
    for name in ('rpn_kd', 'rcn_kd'):
        if name in losses:
            bg = losses[name].bg_weight
            assert bg == (1.0 if row == 'unweighted' else 1.5)
    for name in ('rpn_reg', 'rcn_reg'):
        if name in losses:
            kind = type(losses[name]).__name__
            assert kind == ('L2RegDistillLoss'
                            if row == 'l2_reg' else 'TeacherBoundedRegLoss')
            assert losses[name].loss_weight == 0.5


def test_table_mean_std_and_gap_closed(tmp_path):
    tool = _tool()
    scores = {
        'student': {
            'val': [0.1, 0.1, 0.1],
            'test': [0.09, 0.10, 0.11]
        },
        'full': {
            'val': [0.2, 0.2, 0.2],
            'test': [0.12, 0.13, 0.14]
        },
    }
    text = tool.write_table(
        scores, 0.20, [0, 1, 2], str(tmp_path / 'table.md'), minutes=12.0)
    assert (tmp_path / 'table.md').read_text().strip() == text
    assert 'teacher (seed 0) scores 0.200' in text and '12 min' in text
    # mean 0.130, sample std 0.010; (0.13 - 0.10) / (0.20 - 0.10) = 30%
    assert ('| full method | 0.200 +- 0.000 | 0.130 +- 0.010 | 30% |' in text)
    assert '| student alone | 0.100 +- 0.000 | 0.100 +- 0.010 | 0% |' \
        in text
    assert 'no adaptation layer: n/a' in text


def test_val_map_is_the_last_epochs_across_resumed_logs(tmp_path):
    import json
    tool = _tool()
    # A run interrupted after epoch 2 and resumed: two timestamped logs.
    for stamp, epochs in (('20260101_000000', (1, 2)), ('20260101_010000',
                                                        (3, 4))):
        folder = tmp_path / stamp / 'vis_data'
        folder.mkdir(parents=True)
        with open(folder / 'scalars.json', 'w') as f:
            for epoch in epochs:
                f.write(json.dumps({'loss': 1.0, 'step': epoch * 10}) + '\n')
                f.write(
                    json.dumps({
                        'coco/bbox_mAP': epoch / 10,
                        'step': epoch
                    }) + '\n')
    assert tool.val_map(str(tmp_path)) == pytest.approx(0.4)
    with pytest.raises(SystemExit, match='no validation mAP'):
        tool.val_map(str(tmp_path / 'missing'))
