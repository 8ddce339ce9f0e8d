"""The comparison of methods (mmkd.demo.comparison, ``reproduce_ablations.py
--compare``): its rows are the per-method configs' models, every method's
weight is chosen on validation from the same budget of runs, and its table
is right."""
import argparse
import json
import os.path as osp

import pytest
from mmengine.config import Config, DictAction

from mmkd.testing import ROOT

DEMO_KD = 'configs/kd/frcnn_r18w32_r18w16_synthetic'


def _tools():
    from mmkd.demo import ablations, comparison
    return ablations, comparison


def _merged_terms(config: str, options: list) -> dict:
    """``model.distill_losses`` of ``config`` with ``--cfg-options``, the
    terms set to None left out."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = Config.fromfile(osp.join(ROOT, config))
    if options:
        cfg.merge_from_dict(
            parser.parse_args(['--cfg-options', *options]).cfg_options)
    return {
        name: loss
        for name, loss in cfg.model.distill_losses.to_dict().items()
        if loss is not None
    }


@pytest.mark.parametrize('row, suffix', [('fitnets', 'fitnets'),
                                         ('pkd', 'pkd'), ('cwd', 'cwd'),
                                         ('chen2017_pkd', 'chen2017-pkd')])
def test_method_rows_are_the_per_method_configs(row, suffix):
    """A row (the demo's distillation config with --cfg-options) trains the
    terms and weights of configs/kd/frcnn_r18w32_r18w16_synthetic_<method>.py
    (and so of configs/_base_/distill/<method>.py)."""
    ablations, _ = _tools()
    spec = ablations.ROWS[row]
    assert spec.config == f'{DEMO_KD}.py'
    assert _merged_terms(spec.config, spec.options) == _merged_terms(
        f'{DEMO_KD}_{suffix}.py', [])


def test_every_method_has_the_same_budget():
    _, comparison = _tools()
    sweeps = comparison.sweeps()
    assert set(sweeps) == set(comparison.COMPARED) - {'student'}
    # the published weights, from configs/_base_/distill/
    assert {
        row: s.published
        for row, s in sweeps.items()
    } == dict(
        full=0.5, fitnets=0.5, pkd=6.0, cwd=10.0, chen2017_pkd=6.0)
    budgets = {len(comparison.candidates(s)) for s in sweeps.values()}
    assert budgets == {5}
    assert comparison.candidates(sweeps['cwd']) == [2.5, 10, 40, 160, 640]
    # the key of each sweep is a term its row trains
    ablations, _ = _tools()
    for row, sweep in sweeps.items():
        spec = ablations.ROWS[row]
        term = sweep.key.split('.')[-2]
        assert term in _merged_terms(spec.config, spec.options), row


def test_a_swept_run_is_never_another_row():
    """Runs are reused by folder name: the sweep's run of ``full`` at
    gamma 8 once reused the quarter-width student's ``full_w8`` row."""
    ablations, comparison = _tools()
    names = {
        comparison.run_name(row, weight)
        for row, sweep in comparison.sweeps().items()
        for weight in comparison.candidates(sweep)
    }
    assert len(names) == 25
    assert not names & set(ablations.ROWS), sorted(names & set(ablations.ROWS))
    assert comparison.run_name('full', 8.0) == 'full-w8'


def test_sweep_chooses_on_validation_and_survives_a_failed_run():
    _, comparison = _tools()
    calls = []
    # validation mAP of PKD by weight; 96 diverges
    val = {1.5: 0.10, 6.0: 0.14, 24.0: 0.17, 96.0: None, 384.0: 0.12}

    def one(row, seed, env, log, weight):
        calls.append((row, seed, weight))
        if val[weight] is None:
            raise SystemExit('demo: tools/train.py failed; see x.log')
        return val[weight], None

    def run_all(runs, fn):
        return {
            (name, seed): fn(name, seed, None, None)
            for name, seed in runs
        }

    swept = comparison.run_sweeps(['student', 'pkd'], comparison.SWEEP_FACTORS,
                                  3, one, run_all)
    # one run of the given seed per candidate, none for the student alone
    assert calls == [('pkd', 3, w) for w in val]
    assert list(swept) == ['pkd']
    assert comparison.failed(swept['pkd'][96.0])
    assert comparison.choose(swept['pkd']) == 24.0
    # a tie goes to the smaller weight; all failed is an error
    assert comparison.choose({2.0: 0.3, 8.0: 0.3}) == 2.0
    with pytest.raises(SystemExit, match='every candidate weight failed'):
        comparison.choose({2.0: float('nan')})


def _replace_the_tools(tmp_path, monkeypatch, train, val_map, test_metrics,
                       measure_cost):
    """--compare with its tool runs replaced by these functions; returns
    the (empty) teacher checkpoint to pass."""
    ablations, comparison = _tools()
    monkeypatch.setattr(ablations, 'run', lambda *a, **k: None)
    monkeypatch.setattr(ablations, 'train', train)
    monkeypatch.setattr(ablations, 'val_map', val_map)
    monkeypatch.setattr(ablations, 'test_metrics', test_metrics)
    monkeypatch.setattr(comparison, 'measure_cost', measure_cost)
    teacher = tmp_path / 't.pth'
    teacher.write_bytes(b'')
    return teacher


def test_compare_trains_sweeps_then_seeds_and_writes_the_table(
        tmp_path, monkeypatch):
    """--compare end to end with the tools replaced: the sweep's runs (seed
    0, not tested), every seed at the chosen weight (seed 0's run is the
    sweep's folder), the cost of each distilled row and comparison.md."""
    ablations, comparison = _tools()
    trained, tested = [], []
    val = {'pkd-w1.5': 0.10, 'pkd-w6': 0.14, 'pkd-w24': 0.17}

    def train(name, config, run_dir, options, force, env=None, log=None):
        if name in ('pkd-w96', 'pkd-w384'):
            raise SystemExit(f'demo: tools/train.py failed; see {log}')
        trained.append((osp.basename(run_dir), options))
        return osp.join(run_dir, 'epoch_4.pth')

    def val_map(run_dir):
        name, seed = osp.basename(run_dir).rsplit('_seed', 1)
        return val.get(name, 0.08) + 0.01 * int(seed)

    def test_metrics(config, ckpt, run_dir, options, env=None, log=None):
        tested.append(osp.basename(run_dir))
        return {
            'coco/bbox_mAP': {
                'student_seed0': 0.09,
                'student_seed1': 0.10,
                'pkd-w24_seed0': 0.15,
                'pkd-w24_seed1': 0.17,
                'teacher_given': 0.40
            }[osp.basename(run_dir)]
        }

    costs = []

    def measure_cost(config, options, out, iters=5):
        costs.append((config, options, osp.basename(out)))
        return dict(S=10.0, F=5.0, D=18.0, ratio=1.2)

    teacher = _replace_the_tools(tmp_path, monkeypatch, train, val_map,
                                 test_metrics, measure_cost)
    ablations.main([
        '--compare', '--rows', 'student', 'pkd', '--seeds', '0', '1',
        '--teacher-ckpt',
        str(teacher), '--work-dir',
        str(tmp_path / 'work')
    ])
    runs = [name for name, _ in trained]
    assert runs == [
        'pkd-w1.5_seed0', 'pkd-w6_seed0', 'pkd-w24_seed0', 'student_seed0',
        'student_seed1', 'pkd-w24_seed0', 'pkd-w24_seed1'
    ]
    options = dict(trained)['pkd-w24_seed1']
    assert options[-3:] == [
        'model.distill_losses.pkd.loss_weight=24', 'randomness.seed=1',
        f'model.teacher_ckpt={teacher}'
    ]
    assert tested == [
        'student_seed0', 'student_seed1', 'pkd-w24_seed0', 'pkd-w24_seed1',
        'teacher_given'
    ]
    [(config, cost_options, out)] = costs
    assert config == f'{DEMO_KD}.py' and out == 'cost_pkd-w24.json'
    assert 'model.distill_losses.pkd.loss_weight=24' in cost_options
    text = (tmp_path / 'work' / 'comparison.md').read_text()
    methods = text.split('\n\n')[1]  # the first table; the sweep's next
    rows = {
        line.split(' | ')[0][2:]: line
        for line in methods.splitlines() if line.startswith('| ')
    }
    # PKD: 0.15, 0.17 vs the student's 0.09, 0.10: differences 0.06, 0.07,
    # mean 0.065, sd 0.00707, se 0.005, t975(1) = 12.706: +- 0.0635;
    # gap closed (0.16 - 0.095) / (0.40 - 0.095) = 21%
    assert rows['PKD'] == ('| PKD | 24 | 0.150, 0.170 | 0.160 +- 0.014 | 21% '
                           '| +0.065 [+0.001, +0.129] |  | 1.20 |')
    assert rows['student alone'].startswith(
        '| student alone |  | 0.090, 0.100 | 0.095 +- 0.007 | 0% |')
    assert ('| PKD | pkd weight | 6 (pkd.py) | 1.5: 0.100, 6: 0.140, '
            '24: 0.170, 96: failed, 384: failed | 24 |') in text
    assert 'from 5 runs (seed 0;' in text


def test_cost_is_read_from_benchmark_distill_output():
    _, comparison = _tools()
    out = ('x.py: batch (2, 3, 128, 128), 1 threads, device cpu\n'
           'student step S          120.0 ms\n'
           'teacher forward F        30.5 ms   (trunk)\n'
           'distill step D          165.0 ms\n'
           'teacher loss pass T      90.0 ms\n'
           'D / (S + F)             1.096   (floor 1.0)\n')
    assert comparison.parse_cost(out) == dict(
        S=120.0, F=30.5, D=165.0, ratio=1.096)
    with pytest.raises(SystemExit, match='no D / \\(S \\+ F\\)'):
        comparison.parse_cost('error: x')


def test_method_options_are_the_base_files_terms():
    _, comparison = _tools()
    assert comparison.method_options('cwd') == [
        'model.distill_losses.cwd.type=CWDLoss',
        'model.distill_losses.cwd.tau=1.0',
        'model.distill_losses.cwd.loss_weight=10.0'
    ]
    with open(osp.join(ROOT, 'configs/_base_/distill/pkd.py')) as f:
        assert 'loss_weight=6.0' in f.read()
    json.dumps(comparison.base_terms('fitnets'))  # plain data


def test_a_seed_that_fails_at_the_chosen_weight_is_marked_not_fatal(
        tmp_path, monkeypatch):
    """The weight chosen on the first seed diverges with another seed: the
    tables are still written (that seed marked, the statistics over the
    seeds that finished) and the failure is named at the end."""
    ablations, comparison = _tools()

    def train(name, config, run_dir, options, force, env=None, log=None):
        if osp.basename(run_dir) == 'pkd-w24_seed2' or name in ('pkd-w96',
                                                                'pkd-w384'):
            raise SystemExit(f'demo: tools/train.py failed; see {log}')
        return osp.join(run_dir, 'epoch_4.pth')

    def val_map(run_dir):
        name = osp.basename(run_dir).rsplit('_seed', 1)[0]
        return {'pkd-w24': 0.17}.get(name, 0.1)

    def test_metrics(config, ckpt, run_dir, options, env=None, log=None):
        name = osp.basename(run_dir)
        return {
            'coco/bbox_mAP':
            0.40 if name == 'teacher_given' else 0.1 +
            0.05 * name.startswith('pkd') + 0.01 * int(name[-1])
        }

    teacher = _replace_the_tools(
        tmp_path, monkeypatch, train, val_map, test_metrics,
        lambda *a, **k: dict(S=1.0, F=1.0, D=2.4, ratio=1.2))
    with pytest.raises(SystemExit) as exc:
        ablations.main([
            '--compare', '--rows', 'student', 'pkd', '--seeds', '0', '1', '2',
            '--teacher-ckpt',
            str(teacher), '--work-dir',
            str(tmp_path / 'work')
        ])
    assert str(exc.value).startswith(
        'reproduce: the tables are written; these runs failed (marked '
        'there): pkd-w24 seed 2: demo: tools/train.py failed')
    text = (tmp_path / 'work' / 'comparison.md').read_text()
    # PKD 0.15, 0.16 (seed 2 failed) against the student's 0.10, 0.11
    assert ('| PKD | 24 | 0.150, 0.160, failed | 0.155 +- 0.007 (2 of 3 '
            'seeds) |') in text
    assert '| +0.050 [+0.050, +0.050] |' in text  # 2 paired seeds
    table = (tmp_path / 'work' / 'ablations.md').read_text()
    assert '(1 of 3 seeds failed)' in table
