"""The reproduction (mmkd.demo.ablations): each row builds the model it
names, and the table's statistics are right."""
import argparse
import collections
import os.path as osp
import re
import time

import pytest

from mmkd.testing import ROOT

ALL_TERMS = {'rpn_kd', 'rcn_kd', 'rpn_reg', 'rcn_reg', 'hint'}
KD = {'rpn_kd', 'rcn_kd'}
# row: the distillation terms that must be on (None: no distiller)
EXPECTED_TERMS = {
    'student': None,
    'control': set(),
    'hint': {'hint'},
    'kd': KD,
    'kd_plain': KD,
    'kd_bounded': KD | {'rpn_reg', 'rcn_reg'},
    'kd_l2': KD | {'rpn_reg', 'rcn_reg'},
    'full': ALL_TERMS,
    'no_adapter': ALL_TERMS,
    'full_t2': ALL_TERMS,
    'student_w8': None,
    'full_w8': ALL_TERMS,
    'full_w8_t2': ALL_TERMS,
    'mask_student': None,
    'mask_full': ALL_TERMS,
    'mask_full_mask_kd': ALL_TERMS | {'mask_kd'},
    'cascade_full': ALL_TERMS,
    'fitnets': {'hint'},
    'pkd': {'pkd'},
    'cwd': {'cwd'},
    'chen2017_pkd': ALL_TERMS | {'pkd'},
}
FEATURE_TERMS = {'hint', 'pkd', 'cwd'}
METHODS = ('fitnets', 'pkd', 'cwd', 'chen2017_pkd')
# rows run only when named
NAMED = {
    'student_w8', 'full_w8', 'full_w8_t2', 'mask_student', 'mask_full',
    'mask_full_mask_kd', 'cascade_full', *METHODS
}

# every teacher config -> the checkpoint t.pth
TEACHERS = collections.defaultdict(lambda: 't.pth')


def _tool():
    from mmkd.demo import ablations
    return ablations


def _train_options(row, monkeypatch):
    """The config and ``--cfg-options`` the reproduction trains ``row``
    with (seed 0, every teacher ``t.pth``)."""
    tool = _tool()
    seen = []

    def train(name, config, run_dir, options, force, env=None, log=None):
        seen.append((config, options))
        raise SystemExit('stop')  # nothing is trained

    monkeypatch.setattr(tool, 'train', train)
    with pytest.raises(SystemExit, match='stop'):
        tool._one_run(row, 0, '/nowhere', [], TEACHERS, None, None)
    [(config, options)] = seen
    return config, options


def _build(config, options):
    """The model ``tools/train.py CONFIG --cfg-options OPTIONS`` builds
    (a teacher checkpoint is not loaded)."""
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope

    from mmkd.registry import MODELS
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    # a random teacher in its place (building it is what is tested)
    options = [
        o for opt in options
        for o in (['model.teacher_ckpt=None', 'model.random_teacher=True']
                  if opt.startswith('model.teacher_ckpt=') else [opt])
    ]
    args = parser.parse_args(['--cfg-options', *options])
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmkd')
    return MODELS.build(cfg.model)


def test_rows_cover_the_papers_ablations():
    tool = _tool()
    assert set(tool.ROWS) == set(EXPECTED_TERMS)


@pytest.mark.parametrize('row', sorted(EXPECTED_TERMS))
def test_row_builds_the_model_it_names(row, monkeypatch):
    # with the options the reproduction trains it with: a student trained
    # alone must not be given the teacher's checkpoint (MMDetection's
    # FasterRCNN has no such argument)
    config, options = _train_options(row, monkeypatch)
    expected = EXPECTED_TERMS[row]
    assert ('model.teacher_ckpt=t.pth' in options) == (expected is not None)
    model = _build(config, options)
    if expected is None:
        assert not hasattr(model, 'distill_losses')
        return
    losses = model.distill_losses
    assert set(losses) == expected
    for name in KD & set(losses):
        assert losses[name].bg_weight == (1.0 if row == 'kd_plain' else 1.5)
        assert losses[name].T == (2.0 if row.endswith('_t2') else 1.0)
    for name in {'rpn_reg', 'rcn_reg'} & set(losses):
        kind = type(losses[name]).__name__
        assert kind == ('L2RegDistillLoss'
                        if row == 'kd_l2' else 'TeacherBoundedRegLoss')
        assert losses[name].loss_weight == 0.5
    # the demo's student: 16 channels in the first stage, 32 in the FPN,
    # mapped to the teacher's 64; the quarter-width rows' 8 and 16
    quarter = row.endswith(('_w8', '_w8_t2')) or row.startswith('mask')
    width = 8 if quarter else 16
    assert model.student.backbone.base_channels == width
    if FEATURE_TERMS & expected:
        adapter = model.adapters[0]
        assert type(adapter).__name__ == ('FixedChannelMap' if row
                                          == 'no_adapter' else 'HintAdapter')
        if row != 'no_adapter':
            assert adapter.conv.in_channels == 2 * width
    else:
        assert model.adapters is None
    # each family row distils its own student from its own teacher
    detectors = {
        'mask': ('MaskRCNN', 'MaskRCNN'),
        'cascade': ('FasterRCNN', 'CascadeRCNN')
    }.get(row.split('_')[0], ('FasterRCNN', 'FasterRCNN'))
    assert (type(model.student).__name__,
            type(model.teacher).__name__) == detectors
    if 'hint' in expected:
        # the demo's gamma, chosen on validation (the paper's is 0.5); the
        # FitNets row has fitnets.py's 0.5
        assert losses['hint'].loss_weight == (0.5
                                              if row == 'fitnets' else 16.0)
    if 'pkd' in expected:
        assert losses['pkd'].loss_weight == 6.0  # pkd.py
    if 'cwd' in expected:
        assert (losses['cwd'].tau, losses['cwd'].loss_weight) == (1.0, 10.0)


def test_every_comparison_names_an_existing_row():
    rows = _tool().ROWS
    for name, spec in rows.items():
        assert spec.baseline is None or spec.baseline in rows, name
        assert spec.paper in (None, '>', '<', '='), name
        # the gap is counted from the same student trained alone
        alone = rows[spec.alone]
        assert alone.options == [] and 'kd' not in alone.config, name
        student = re.findall(r'r18w\d+', spec.config)[-1]
        family = 'mask_rcnn' if 'mask_rcnn' in spec.config else 'frcnn'
        assert alone.config.endswith(f'{family}_{student}_synthetic.py'), \
            name


def test_default_rows_are_the_papers_ablations():
    tool = _tool()
    rows = tool.parse_args([]).rows
    assert rows == [row for row in EXPECTED_TERMS if row not in NAMED]
    args = tool.parse_args(['--compare'])
    assert args.rows == [
        'student', 'full', 'fitnets', 'pkd', 'cwd', 'chen2017_pkd'
    ]
    assert args.sweep and args.cost
    args = tool.parse_args(['--compare', '--rows', 'pkd'])
    assert args.rows == ['pkd'] and args.sweep


def test_table_mean_std_gap_closed_and_verdicts(tmp_path):
    tool = _tool()
    scores = {
        'student': {
            'val': [0.1, 0.1, 0.1],
            'test': [0.09, 0.10, 0.11]
        },
        'control': {
            'val': [0.1, 0.1, 0.1],
            'test': [0.10, 0.11, 0.09]
        },
        'kd': {
            'val': [0.2, 0.2, 0.2],
            'test': [0.12, 0.14, 0.13]
        },
        'kd_plain': {
            'val': [0.2, 0.2, 0.2],
            'test': [0.12, 0.13, 0.14]
        },
        'student_w8': {
            'val': [0.1, 0.1, 0.1],
            'test': [0.15, 0.15, 0.15]
        },
        'full_w8': {
            'val': [0.2, 0.2, 0.2],
            'test': [0.17, 0.17, 0.17]
        },
    }
    text = tool.write_table(
        scores, 0.20, [0, 1, 2], str(tmp_path / 'table.md'), minutes=12.0)
    assert (tmp_path / 'table.md').read_text().strip() == text
    assert 'teacher (seed 0) scores 0.200' in text and '12 min' in text
    rows = {
        line.split(' | ')[0][2:]: line
        for line in text.splitlines() if line.startswith('| ')
    }
    # kd: mean 0.130, sample std 0.010; (0.13 - 0.10) / (0.20 - 0.10) = 30%
    # vs student, paired by seed: differences 0.03, 0.04, 0.02, mean 0.030,
    # sd 0.010, se 0.00577, z = 5.2, t975(2) = 4.303: [+0.005, +0.055]
    assert rows['KD only (weighted cross-entropy)'].startswith(
        '| KD only (weighted cross-entropy) | 0.200 +- 0.000 | '
        '0.130 +- 0.010 | 30% | student alone | '
        '+0.030 [+0.005, +0.055], z = +5.2 | as in the paper '
        '(better; +5.2 sigma) |')
    # control vs student: differences 0.01, 0.01, -0.02, mean 0, inside the
    # interval: as expected
    assert 'as in the paper (the same; +0.0 sigma)' in rows[
        'distiller, every term off (control)']
    # plain CE vs weighted: differences 0, -0.01, +0.01, mean 0: the
    # paper's "worse" is not shown
    assert '| not (worse; +0.0 sigma) |' in rows[
        'KD only, plain cross-entropy (w_bg = 1)']
    assert rows['teacher (seed 0)'].startswith(
        '| teacher (seed 0) | | 0.200 | 100% |')
    # the quarter-width rows count the gap from the quarter-width student
    # alone: (0.17 - 0.15) / (0.20 - 0.15) = 40% (from the demo's: 70%)
    assert '| 0.150 +- 0.000 | 0% |' in rows['quarter-width student alone']
    assert '| 0.170 +- 0.000 | 40% | quarter-width student alone |' in rows[
        'full method, quarter-width student']


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


def test_jobs_run_at_once_each_with_its_threads_and_log(tmp_path, monkeypatch):
    import threading
    tool = _tool()
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setattr('mmkd.demo.jobs.cpu_count', lambda: 2)
    # Two runs meet here only if they are in flight at the same time.
    barrier = threading.Barrier(2, timeout=20)
    seen = []

    def one(row, seed, env, log):
        barrier.wait()
        seen.append((row, seed, env, log))
        if (row, seed) == ('student', 0):
            raise SystemExit(f'demo: tools/train.py failed; see {log}')
        if (row, seed) == ('kd', 0):
            raise ValueError('no test.json')
        return seed / 10, seed / 5

    runs = [('student', 0), ('student', 1), ('kd', 0), ('kd', 1)]
    with pytest.raises(SystemExit) as failure:
        tool.run_all(runs, 2, one, str(tmp_path))
    # the first run's failure does not stop the later runs; the failures
    # are named together at the end
    assert sorted(s[:2] for s in seen) == sorted(runs)
    log = tmp_path / 'logs' / 'student_seed0.log'
    assert str(failure.value) == (
        'reproduce: student_seed0: demo: tools/train.py failed; see '
        f'{log}; kd_seed0: ValueError: no test.json')
    assert all(env == {'OMP_NUM_THREADS': '1'} for _, _, env, _ in seen)
    assert len({log for *_, log in seen}) == 4
    # one at a time: the tools stream to the terminal with their threads
    results = tool.run_all(runs, 1, lambda row, seed, env, log: (env, log),
                           str(tmp_path))
    assert results == {run: (None, None) for run in runs}


def test_a_tools_output_goes_to_its_log_and_a_failure_names_it(tmp_path):
    import re
    import sys

    from mmkd.demo.pipeline import run
    log = tmp_path / 'logs' / 'row_seed0.log'
    run([sys.executable, '-c', 'print("epoch 1")'], log=str(log))
    with pytest.raises(
            SystemExit, match=f'exit code 3; see {re.escape(str(log))}$'):
        run([sys.executable, '-c', 'print("epoch 2"); raise SystemExit(3)'],
            env=dict(OMP_NUM_THREADS='1'),
            log=str(log))
    text = log.read_text()
    assert 'epoch 1' in text and 'epoch 2' in text
    assert text.startswith(f'$ {sys.executable} -c')


def test_ctrl_c_starts_no_queued_run(tmp_path):
    import signal
    import threading
    tool = _tool()
    started, both = [], threading.Barrier(2, timeout=20)
    release = threading.Event()

    def one(row, seed, env, log):
        started.append(seed)
        both.wait()
        if seed == 0:  # Ctrl-C reaches the main thread while two runs train
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        # Python handles the SIGINT when the main thread next runs
        # bytecode: at the latest when a run returns.
        release.wait(5)
        return 0.0, 0.0

    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            tool.run_all([('kd', seed) for seed in range(6)], 2, one,
                         str(tmp_path))
    finally:
        signal.signal(signal.SIGINT, handler)
        release.set()
    time.sleep(0.5)  # a run that would start now has had time to
    assert sorted(started) == [0, 1]


def test_repeated_rows_and_seeds_run_once():
    args = _tool().parse_args(
        ['--rows', 'kd', 'kd', 'student', '--seeds', '0', '0', '1'])
    assert args.rows == ['kd', 'student'] and args.seeds == [0, 1]
    with pytest.raises(SystemExit):
        _tool().parse_args(['--jobs', '0'])


def test_a_row_is_tested_with_the_options_it_trained_with(
        tmp_path, monkeypatch):
    tool = _tool()
    commands = []

    def run(cmd, env=None, log=None):
        commands.append(cmd)
        out = tmp_path / 'kd_seed0' / 'test' / 'stamp'
        out.mkdir(parents=True)
        (out / 'stamp.json').write_text('{"coco/bbox_mAP": 0.25}\n')

    monkeypatch.setattr(tool, 'train', lambda *a, **k: 'epoch_4.pth')
    monkeypatch.setattr(tool, 'val_map', lambda run_dir: 0.2)
    monkeypatch.setattr(tool, 'run', run)
    assert tool._one_run('kd', 0, str(tmp_path), ['a=1'], TEACHERS, None,
                         None) == (0.2, 0.25, None)
    [test] = commands
    assert test[1] == 'tools/test.py'
    # without the row's options the model tested has the hint adapter the
    # kd row's checkpoint lacks, and tools/test.py refuses it
    options = test[test.index('--cfg-options') + 1:]
    assert options == [
        'a=1', *tool.ROWS['kd'].options, 'randomness.seed=0',
        'model.teacher_ckpt=t.pth'
    ]


def test_family_rows_get_their_teachers_and_a_mask_table(tmp_path):
    """The Mask R-CNN rows count their gap from the Mask R-CNN teacher, in
    box and in mask mAP; the cascade row is compared with the same student
    distilled by the Faster R-CNN teacher."""
    tool = _tool()
    scores = {
        'student': {
            'val': [0.1] * 3,
            'test': [0.10, 0.11, 0.12]
        },
        'full': {
            'val': [0.1] * 3,
            'test': [0.13, 0.14, 0.15]
        },
        'cascade_full': {
            'val': [0.1] * 3,
            'test': [0.14, 0.16, 0.15]
        },
        'mask_student': {
            'val': [0.1] * 3,
            'test': [0.20, 0.20, 0.20],
            'test_mask': [0.10, 0.12, 0.14]
        },
        'mask_full': {
            'val': [0.1] * 3,
            'test': [0.25, 0.25, 0.25],
            'test_mask': [0.13, 0.14, 0.18]
        },
    }
    teachers = {
        tool.TEACHER: {
            'coco/bbox_mAP': 0.21
        },
        tool.MASK_TEACHER: {
            'coco/bbox_mAP': 0.30,
            'coco/segm_mAP': 0.22
        },
        tool.CASCADE_TEACHER: {
            'coco/bbox_mAP': 0.25
        },
    }
    text = tool.write_table(scores, teachers, [0, 1, 2],
                            str(tmp_path / 'table.md'))
    box, mask = text.split('Mask mAP (COCO segm)')
    rows = {
        line.split(' | ')[0][2:]: line
        for line in box.splitlines() if line.startswith('| ')
    }
    # box: (0.25 - 0.20) / (0.30 - 0.20) = 50% of the Mask R-CNN gap;
    # paired differences 0.05 each: sd 0, an interval of width 0
    assert rows['Mask R-CNN, full method'].startswith(
        '| Mask R-CNN, full method | 0.100 +- 0.000 | 0.250 +- 0.000 | 50% '
        '| Mask R-CNN student alone | +0.050 [+0.050, +0.050]')
    # cascade row vs the Faster-teacher row: differences 0.01, 0.02, 0,
    # mean 0.010, sd 0.010, t975(2) = 4.303: [-0.015, +0.035]; its gap is
    # the one to its own teacher: (0.15 - 0.11) / (0.25 - 0.11) = 29%
    assert ('| 0.150 +- 0.010 | 29% | full method (KD + bounded + hint) | '
            '+0.010 [-0.015, +0.035], z = +1.7 | not reported |'
            ) in rows['full method, Cascade R-CNN teacher']
    assert rows['Mask R-CNN teacher (seed 0)'].startswith(
        '| Mask R-CNN teacher (seed 0) | | 0.300 | 100% |')
    assert 'teacher (seed 0) scores 0.210' in box  # the demo's teacher
    # mask table: mean 0.150 (sd 0.026); gap (0.15 - 0.12) / (0.22 - 0.12)
    # = 30%; differences 0.03, 0.02, 0.04: +0.030 [+0.005, +0.055]
    assert ('| Mask R-CNN, full method | 0.150 +- 0.026 | 30% | Mask R-CNN '
            'student alone | +0.030 [+0.005, +0.055], z = +5.2 |') in mask
    assert '| Mask R-CNN teacher (seed 0) | 0.220 | 100% | | |' in mask
    assert 'full method, Cascade R-CNN teacher' not in mask


def test_each_rows_teacher_is_trained_once_or_given(tmp_path, monkeypatch):
    tool = _tool()
    trained = []

    def train(name, config, run_dir, options, force, env=None, log=None):
        trained.append((config, options[-1]))
        return f'{run_dir}/epoch_12.pth'

    monkeypatch.setattr(tool, 'train', train)
    args = tool.parse_args(
        ['--rows', 'mask_full', 'cascade_full', 'full', 'mask_student'])
    teachers = tool._teachers(args, str(tmp_path), [])
    assert sorted(trained) == sorted([
        (tool.MASK_TEACHER, 'randomness.seed=0'),
        (tool.CASCADE_TEACHER, 'randomness.seed=0'),
        (tool.TEACHER, 'randomness.seed=0'),
    ])
    assert teachers[tool.TEACHER][0] == str(tmp_path / 'teacher_seed0' /
                                            'epoch_12.pth')
    given = tmp_path / 'demo_teacher.pth'
    given.write_bytes(b'')
    trained.clear()
    args = tool.parse_args(['--rows', 'full', '--teacher-ckpt', str(given)])
    assert tool._teachers(args, str(tmp_path),
                          [])[tool.TEACHER][0] == str(given)
    assert trained == []
