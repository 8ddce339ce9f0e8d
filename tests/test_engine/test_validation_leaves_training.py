"""Validation never moves the training streams (RNGStateHook), so where a
schedule validates is a question of time only: the demo trains without
validation (tools/demo.py) and learns what a run that validates every epoch
learns."""
import os.path as osp

import pytest
import torch

from mmkd.analysis.logs import val_curve
from mmkd.testing import TINY_CONFIG, data_options, load_tool

pytestmark = pytest.mark.usefixtures('one_thread')


def _train(tiny_data, work_dir, val_begin, hooks=None):
    options = [
        *data_options(tiny_data), 'train_cfg.max_epochs=2',
        f'train_cfg.val_begin={val_begin}', 'randomness.seed=0'
    ]
    if hooks is not None:
        options.append(f'custom_hooks={hooks}')
    load_tool('train').main(
        [TINY_CONFIG, '--work-dir',
         str(work_dir), '--cfg-options', *options])
    ckpt = torch.load(
        osp.join(work_dir, 'epoch_2.pth'),
        map_location='cpu',
        weights_only=False)
    return ckpt['state_dict'], [epoch for epoch, _ in val_curve(work_dir)]


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_that_validates_every_epoch_trains_the_same_weights(
        tiny_data, tmp_path):
    every, validated = _train(tiny_data, tmp_path / 'every', 1)
    last, validated_last = _train(tiny_data, tmp_path / 'last', 2)
    assert validated == [1, 2] and validated_last == [2]
    assert _same(every, last)
    # Without the hook, the epoch-1 validation draws from the training
    # streams (the validation loader's worker seeds) and the weights differ:
    # the comparison above can fail.
    unguarded, _ = _train(tiny_data, tmp_path / 'unguarded', 1, hooks='[]')
    assert not _same(every, unguarded)
