"""Save -> load -> resume on torch >= 2.6 (``weights_only`` loading)."""
import copy
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import mmkd  # noqa: F401  (allow-lists MMEngine's checkpoint types)
from mmkd.testing import TINY_CONFIG, data_overrides


def _iter_runner(work_dir, data_root, max_iters, load_from=None):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(data_overrides(data_root))
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**6)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.log_processor = dict(by_epoch=False)
    cfg.work_dir = work_dir
    cfg.resume = load_from is not None
    cfg.load_from = load_from
    cfg.randomness = dict(seed=0)
    cfg.experiment_name = f'iters_{max_iters}_{osp.basename(work_dir)}'
    return Runner.from_cfg(cfg)


class _Snapshot(Hook):
    """Records the state the runner starts training from."""

    def before_train(self, runner):
        self.iter = runner.iter
        self.weights = {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        }
        self.optim = copy.deepcopy(runner.optim_wrapper.state_dict())


def test_resume_continues_exactly(tiny_data, tmp_path):
    work_dir = str(tmp_path / 'run')
    _iter_runner(work_dir, tiny_data, max_iters=2).train()
    ckpt_path = osp.join(work_dir, 'iter_2.pth')
    # MMEngine's own loader with torch's default weights_only=True.
    ckpt = _load_checkpoint(ckpt_path, map_location='cpu')
    assert ckpt['meta']['iter'] == 2
    assert 'message_hub' in ckpt and 'optimizer' in ckpt

    runner = _iter_runner(
        work_dir, tiny_data, max_iters=4, load_from=ckpt_path)
    snapshot = _Snapshot()
    runner.register_hook(snapshot)
    runner.train()
    assert snapshot.iter == 2
    for key, value in ckpt['state_dict'].items():
        assert torch.equal(snapshot.weights[key], value), key
    saved = ckpt['optimizer']['state']
    assert saved, 'SGD with momentum has a state after 2 steps'
    for idx, state in saved.items():
        assert torch.equal(snapshot.optim['state'][idx]['momentum_buffer'],
                           state['momentum_buffer'])
    assert runner.iter == 4
    final = _load_checkpoint(osp.join(work_dir, 'iter_4.pth'))
    assert final['meta']['iter'] == 4
    # The weights moved on from the resumed ones.
    assert any(not torch.equal(final['state_dict'][k], v)
               for k, v in ckpt['state_dict'].items())


class _NotAllowed:
    pass


def test_arbitrary_pickles_stay_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'obj': _NotAllowed()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_getattr_in_checkpoints_is_restricted(tmp_path):
    # pickle spells a function attribute as getattr(owner, name); only
    # HistoryBuffer's statistics methods may be reached that way.
    path = tmp_path / 'getattr.pth'
    torch.save({'fn': np.ndarray.tofile}, path)
    with pytest.raises(pickle.UnpicklingError, match='tofile'):
        torch.load(path)
    from mmengine.logging import HistoryBuffer
    torch.save({'fn': HistoryBuffer.mean}, path)
    assert torch.load(path)['fn'] is HistoryBuffer.mean
