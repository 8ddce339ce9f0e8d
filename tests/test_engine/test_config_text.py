"""A run formats its config's text once (mmkd.engine.config_text), not
once per log, dump and checkpoint, and the text is yapf's."""
import glob
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.config import config as config_module
from yapf.yapflib.yapf_api import FormatCode

from mmkd.engine.config_text import memoize_config_text
from mmkd.testing import TINY_CONFIG, data_options, load_tool


def _counting(monkeypatch):
    """Replace yapf's FormatCode in MMEngine by one that counts its calls
    (the memo, when installed, wraps it)."""
    calls = []

    def format_code(text, *args, **kwargs):
        calls.append(text)
        return FormatCode(text, *args, **kwargs)

    monkeypatch.setattr(config_module, 'FormatCode', format_code)
    return calls


def test_the_text_is_yapfs_and_made_once(monkeypatch):
    calls = _counting(monkeypatch)
    cfg = Config.fromfile(TINY_CONFIG)
    plain = cfg.pretty_text
    assert len(calls) == 1
    memoize_config_text()
    memoize_config_text()  # idempotent: one memo
    assert cfg.pretty_text == plain and len(calls) == 2
    assert Config.fromfile(TINY_CONFIG).pretty_text == plain
    assert len(calls) == 2
    cfg.merge_from_dict({'train_cfg.max_epochs': 7})  # another text
    assert 'max_epochs=7' in cfg.pretty_text and len(calls) == 3


def test_a_run_formats_its_config_once(tiny_data, tmp_path, monkeypatch,
                                       one_thread):
    calls = _counting(monkeypatch)
    load_tool('train').main([
        TINY_CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', *data_options(tiny_data),
        'train_cfg.max_epochs=2', 'val_cfg=None', 'val_dataloader=None',
        'val_evaluator=None'
    ])
    # logged, dumped and in both checkpoints: the same text, formatted once
    assert len(set(calls)) == len(calls) == 1
    ckpt = torch.load(tmp_path / 'epoch_2.pth', weights_only=False)
    [dumped] = glob.glob(osp.join(tmp_path, '*', '*.py')) or glob.glob(
        osp.join(tmp_path, '*.py'))
    with open(dumped) as f:
        assert f.read() == ckpt['meta']['cfg']
