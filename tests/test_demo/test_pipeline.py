"""The demo pipeline's training step: reuse, resume, --force."""
import os
import sys

import pytest

from mmkd.demo import pipeline


def _fake_run(calls):

    def run(cmd, env=None, log=None):
        calls.append(cmd)
        work_dir = cmd[cmd.index('--work-dir') + 1]
        os.makedirs(work_dir, exist_ok=True)
        open(os.path.join(work_dir, 'epoch_1.pth'), 'w').close()
        with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
            f.write(os.path.join(work_dir, 'epoch_1.pth'))

    return run


def test_finished_reused_interrupted_resumed_forced_kept(
        tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, 'run', _fake_run(calls))
    work_dir = str(tmp_path / 'student')
    # a fresh run: no --resume
    ckpt = pipeline.train('student', 'cfg.py', work_dir, ['a=1'], False)
    assert ckpt == os.path.join(work_dir, 'epoch_1.pth')
    assert '--resume' not in calls[-1]
    # finished: reused, nothing run
    pipeline.train('student', 'cfg.py', work_dir, ['a=1'], False)
    assert len(calls) == 1
    # interrupted (checkpoint, no DONE): resumed
    os.remove(os.path.join(work_dir, 'DONE'))
    pipeline.train('student', 'cfg.py', work_dir, ['a=1'], False)
    assert '--resume' in calls[-1]
    # --force: the earlier run is kept aside, a new one starts from scratch
    pipeline.train('student', 'cfg.py', work_dir, ['a=1'], True)
    assert '--resume' not in calls[-1]
    kept = [p for p in os.listdir(tmp_path) if p.startswith('student.')]
    assert len(kept) == 1 and kept[0].startswith('student.replaced-')
    assert os.path.isfile(tmp_path / kept[0] / 'epoch_1.pth')


def test_a_run_is_reused_or_resumed_only_with_its_own_recipe(
        tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, 'run', _fake_run(calls))
    work_dir = str(tmp_path / 'student')
    pipeline.train('student', 'cfg.py', work_dir, ['a=1', 'b=2'], False)
    # finished with a=1: asked for a=3 it says so instead of reusing it
    with pytest.raises(SystemExit) as exc:
        pipeline.train('student', 'cfg.py', work_dir, ['a=3', 'b=2'], False)
    message = str(exc.value)
    assert message.startswith('error: ') and '\n' not in message
    assert "['a=1'], not ['a=3']" in message and '--force' in message
    with pytest.raises(SystemExit, match='config cfg.py, not other.py'):
        pipeline.train('student', 'other.py', work_dir, ['a=1', 'b=2'], False)
    # interrupted: not resumed with other options either
    os.remove(os.path.join(work_dir, 'DONE'))
    with pytest.raises(SystemExit, match=r"\['b=2'\], not \['b=5'\]"):
        pipeline.train('student', 'cfg.py', work_dir, ['a=1', 'b=5'], False)
    assert len(calls) == 1
    # the same recipe resumes; --force starts the other one afresh
    pipeline.train('student', 'cfg.py', work_dir, ['a=1', 'b=2'], False)
    assert '--resume' in calls[-1]
    pipeline.train('student', 'cfg.py', work_dir, ['a=3', 'b=2'], True)
    assert '--resume' not in calls[-1] and calls[-1][-2:] == ['a=3', 'b=2']


def test_quick_mode_runs_a_tool_in_process_and_stops_on_its_failure(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, '_IN_PROCESS', [True])
    monkeypatch.setattr(pipeline.subprocess, 'call', None)  # not used
    tool = 'tools/dataset_converters/generate_synthetic.py'
    out = tmp_path / 'data'
    pipeline.run([
        sys.executable, tool, '--out',
        str(out), '--num-train', '2', '--num-val', '1', '--num-test', '1'
    ])
    assert (out / 'annotations' / 'instances_train.json').is_file()
    assert capsys.readouterr().out.startswith(f'$ {sys.executable} {tool}')
    with pytest.raises(SystemExit) as exc:
        pipeline.run([sys.executable, tool, '--no-such-flag'])
    assert str(exc.value) == (f'demo: {tool} failed with exit code 2; see '
                              'its output above')


def test_a_ddp_run_splits_the_batch_and_the_threads(tmp_path, monkeypatch):
    calls = []

    def run(cmd, env=None, log=None):
        calls.append((cmd, env))
        _fake_run([])(cmd, env, log)

    monkeypatch.setattr(pipeline, 'run', run)
    config = 'configs/faster_rcnn/frcnn_r18w32_synthetic.py'  # batch 8
    work_dir = str(tmp_path / 'teacher')
    pipeline.train(
        'teacher',
        config,
        work_dir, ['train_cfg.max_epochs=1'],
        False, {'OMP_NUM_THREADS': '4'},
        processes=2)
    [(cmd, env)] = calls
    assert cmd[1:5] == [
        '-m', 'torch.distributed.run', '--nproc_per_node=2', cmd[4]
    ] and cmd[4].startswith('--master_port=')
    assert cmd[5:7] == ['tools/train.py', config]
    assert '--launcher' in cmd and cmd[cmd.index('--launcher') +
                                       1] == 'pytorch'
    assert cmd[-2:] == [
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=4'
    ]
    assert env == {'OMP_NUM_THREADS': '2'}
    # the same run on one process is another recipe
    with pytest.raises(SystemExit, match='batch_size=4'):
        pipeline.train('teacher', config, work_dir, ['train_cfg.max_epochs=1'],
                       False)
    # a batch that does not split is one error line
    with pytest.raises(
            SystemExit,
            match='a batch of 8 images does not split '
            'over 3 processes'):
        pipeline.train(
            'teacher', config, str(tmp_path / 'other'), [], False, processes=3)


def test_a_moved_run_folder_is_still_found_finished(tmp_path, monkeypatch):
    """Its last_checkpoint pointer names the old folder: the newest
    checkpoint in the folder is the run's (it was a TypeError)."""
    calls = []
    monkeypatch.setattr(pipeline, 'run', _fake_run(calls))
    old = str(tmp_path / 'full_w8')
    pipeline.train('full', 'cfg.py', old, ['a=1'], False)
    new = tmp_path / 'full-w8'
    os.rename(old, new)
    assert pipeline.train('full', 'cfg.py', str(new), ['a=1'],
                          False) == str(new / 'epoch_1.pth')
    assert len(calls) == 1
