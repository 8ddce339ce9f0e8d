"""The comparison of distillation methods on the demo pair: Chen et al.
against the feature-distillation methods that came after (FitNets, PKD,
CWD) and Chen et al. + PKD, next to the student alone.

    python tools/analysis_tools/reproduce_ablations.py --compare \\
        [--seeds 0 1 2] [--teacher-ckpt CKPT] [--jobs 2]

(docs/user_guides/feature_distillation.md). Each method's swept weight is
chosen on the validation split from the same number of runs: one run with
the first seed per candidate, the candidates being the method's published
weight times ``SWEEP_FACTORS``. Every seed is then trained at the chosen
weight (the first seed's run is the sweep's), tested on the test split and
compared, paired by seed, with the student alone and with Chen et al.; the
training cost per iteration of each method is ``D / (S + F)`` from
``tools/analysis_tools/benchmark_distill.py``.

The rows are those of ``mmkd.demo.ablations``; this module holds what the
comparison adds: the sweep, the cost and its table.
"""
import json
import os.path as osp
import re
import subprocess
import sys
from typing import Callable, Dict, List, NamedTuple, Optional

from mmengine.config import Config

from mmkd.analysis.stats import compare, failed, finished, mean_std
from .pipeline import ROOT

# The rows of the comparison (keys of ablations.ROWS), in table order.
COMPARED = ('student', 'full', 'fitnets', 'pkd', 'cwd', 'chen2017_pkd')
# The candidates of a swept weight: the published weight times these, the
# same five for every method (so the same budget: five runs of the first
# seed). x4 steps from a quarter to 64 times: on the demo pair the paper's
# hint weight 0.5 trained a student below the student alone, and 16-32
# scored best on validation (README, "Hint normalisation and weight").
SWEEP_FACTORS = (0.25, 1.0, 4.0, 16.0, 64.0)
HINT = 'model.distill_losses.hint.loss_weight'
PKD = 'model.distill_losses.pkd.loss_weight'
CWD = 'model.distill_losses.cwd.loss_weight'


class Sweep(NamedTuple):
    """The ``--cfg-options`` key of a row's swept weight and the published
    weight the candidates are multiples of (``source`` says where it is
    written)."""
    key: str
    published: float
    source: str


def base_terms(name: str) -> dict:
    """``distill_losses`` of ``configs/_base_/distill/<name>.py``."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'distill', f'{name}.py'))
    variable = 'distiller' if name == 'chen2017' else name
    return cfg[variable]['distill_losses'].to_dict()


def method_options(name: str) -> List[str]:
    """``--cfg-options`` that add the terms of ``configs/_base_/distill/
    <name>.py`` (type and arguments) to a distillation config."""
    return [
        f'model.distill_losses.{term}.{key}={value}'
        for term, cfg in base_terms(name).items()
        for key, value in cfg.items()
    ]


def sweeps() -> Dict[str, Sweep]:
    """The swept weight of each distilled row of :data:`COMPARED`. Chen
    et al.'s is the hint weight gamma (its other weights stay the paper's);
    Chen et al. + PKD keeps the demo's gamma = 16 and sweeps PKD's."""
    gamma = base_terms('chen2017')['hint']['loss_weight']
    pkd = base_terms('pkd')['pkd']['loss_weight']
    return dict(
        full=Sweep(HINT, gamma, 'chen2017.py'),
        fitnets=Sweep(HINT,
                      base_terms('fitnets')['hint']['loss_weight'],
                      'fitnets.py'),
        pkd=Sweep(PKD, pkd, 'pkd.py'),
        cwd=Sweep(CWD,
                  base_terms('cwd')['cwd']['loss_weight'], 'cwd.py'),
        chen2017_pkd=Sweep(PKD, pkd, 'pkd.py'))


def candidates(sweep: Sweep, factors=SWEEP_FACTORS) -> List[float]:
    return [sweep.published * f for f in factors]


def run_name(row: str, weight: Optional[float]) -> str:
    """A run's name (and folder prefix): ``pkd-w6`` at weight 6. The hyphen
    keeps it apart from every row's name (``full_w8`` is a row: the
    quarter-width student)."""
    return row if weight is None else f'{row}-w{weight:g}'


def of_seeds(scores) -> str:
    """`` (2 of 3 seeds)`` when some runs failed; empty otherwise."""
    done = len(finished(scores))
    return '' if done == len(scores) else f' ({done} of {len(scores)} seeds)'


def choose(results: Dict[float, float]) -> float:
    """The candidate with the highest validation mAP among the runs that
    finished (NaN: failed, e.g. diverged); the smaller weight on a tie."""
    done = {w: v for w, v in results.items() if not failed(v)}
    if not done:
        raise SystemExit('compare: every candidate weight failed: '
                         f'{sorted(results)}; see the logs of the runs')
    return max(done, key=lambda w: (done[w], -w))


def run_sweeps(rows, factors, seed: int, one: Callable,
               run_all: Callable) -> Dict[str, Dict[float, float]]:
    """``{row: {weight: val mAP}}``: one run per candidate weight of each
    swept row, with ``seed``. ``one(row, seed, env, log, weight)`` trains
    (or reuses) a run and returns ``(val, test)``; ``run_all(runs, one)``
    runs ``one(name, seed, env, log)`` for each ``(name, seed)``. A run
    that fails scores NaN and the others go on."""
    table = sweeps()
    names = {
        run_name(row, w): (row, w)
        for row in rows if row in table
        for w in candidates(table[row], factors)
    }

    def tried(name, seed_, env, log):
        row, weight = names[name]
        try:
            return one(row, seed_, env, log, weight)
        except SystemExit as exc:  # the tool's message names its log
            print(f'[compare] {name} seed {seed_} failed: {exc}', flush=True)
            return float('nan'), float('nan')

    results = run_all([(name, seed) for name in names], tried)
    found: Dict[str, Dict[float, float]] = {}
    for name, (row, weight) in names.items():
        found.setdefault(row, {})[weight] = results[name, seed][0]
    return found


def parse_cost(output: str) -> dict:
    """``S``, ``F``, ``D`` (ms) and ``ratio`` (D / (S + F)) from the output
    of ``benchmark_distill.py``."""
    times = {
        key: float(ms)
        for key, ms in re.findall(r'^\w[\w ]*? ([SFD]) +([\d.]+) ms', output,
                                  re.M)
    }
    ratio = re.search(r'^D / \(S \+ F\) +([\d.]+)', output, re.M)
    if not ratio or set(times) != {'S', 'F', 'D'}:
        raise SystemExit('compare: no D / (S + F) in the output of '
                         f'benchmark_distill.py:\n{output[-2000:]}')
    return dict(times, ratio=float(ratio.group(1)))


def measure_cost(config: str, options: list, out: str, iters: int = 5):
    """``parse_cost`` of ``benchmark_distill.py CONFIG --cfg-options
    OPTIONS``, kept in ``out`` (a rerun reads it)."""
    if not osp.isfile(out):
        cmd = [
            sys.executable, 'tools/analysis_tools/benchmark_distill.py',
            config, '--iters',
            str(iters), '--cfg-options', *options
        ]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f'compare: {" ".join(cmd)} failed:\n'
                             f'{proc.stderr[-2000:]}')
        with open(out, 'w') as f:
            json.dump(parse_cost(proc.stdout), f)
    with open(out) as f:
        return json.load(f)


def _diff(scores, row, other) -> str:
    if other not in scores or row in (other, 'student'):
        return ''
    cmp = compare(scores[row]['test'], scores[other]['test'], paired=True)
    return (f"{cmp['diff']:+.3f} [{cmp['low']:+.3f}, {cmp['high']:+.3f}]")


def write_comparison(labels: Dict[str, str], scores: dict, chosen: dict,
                     swept: dict, costs: dict, teacher_map: float, seeds,
                     path: str) -> str:
    """The comparison's markdown: the table of methods (test mAP per seed,
    mean +- std, share of the gap closed, paired differences with the
    student alone and Chen et al., the chosen weight, D / (S + F)) and the
    sweep (validation mAP of every candidate); written to ``path``."""
    student = mean_std(scores['student']['test'])[0] if ('student'
                                                         in scores) else None
    lines = [
        f'Test mAP (COCO-style) per seed {list(seeds)}, mean +- std; the '
        f'teacher scores {teacher_map:.3f}. Differences are paired by seed, '
        'with their 95% interval. Each method\'s weight was chosen on the '
        f'validation split from {len(SWEEP_FACTORS)} runs (seed {seeds[0]}; '
        'the published weight times '
        f"{', '.join(f'{f:g}' for f in SWEEP_FACTORS)}); D / (S + F) is a "
        'training step over a student step plus the teacher forward it '
        'needs (tools/analysis_tools/benchmark_distill.py; 1.0 is the '
        'floor).', '',
        '| method | weight | test mAP per seed | mean +- std | gap closed | '
        '- student alone | - full method (Chen et al.) | D / (S + F) |',
        '|---|---:|---|---:|---:|---|---|---:|'
    ]
    for row, split in scores.items():
        test_m, test_s = mean_std(split['test'])
        closed = ('' if student is None or teacher_map <= student else
                  f'{(test_m - student) / (teacher_map - student):.0%}')
        weight = f'{chosen[row]:g}' if row in chosen else ''
        cost = f"{costs[row]['ratio']:.2f}" if row in costs else ''
        per_seed = ', '.join('failed' if failed(v) else f'{v:.3f}'
                             for v in split['test'])
        lines.append(f'| {labels[row]} | {weight} | {per_seed} | '
                     f"{test_m:.3f} +- {test_s:.3f}{of_seeds(split['test'])}"
                     f' | {closed} | '
                     f"{_diff(scores, row, 'student')} | "
                     f"{_diff(scores, row, 'full')} | {cost} |")
    if swept:
        table = sweeps()
        lines += [
            '', f'Validation mAP of each candidate weight (seed {seeds[0]}; '
            '"failed": the run stopped, e.g. on non-finite losses):', '',
            '| method | swept | published | candidates: val mAP | chosen |',
            '|---|---|---:|---|---:|'
        ]
        for row, results in swept.items():
            tried = ', '.join(f'{w:g}: ' +
                              ('failed' if failed(v) else f'{v:.3f}')
                              for w, v in sorted(results.items()))
            key = table[row].key.split('.')[-2]
            lines.append(f'| {labels[row]} | {key} weight | '
                         f'{table[row].published:g} ({table[row].source}) | '
                         f'{tried} | {chosen[row]:g} |')
    text = '\n'.join(lines)
    with open(path, 'w') as f:
        f.write(text + '\n')
    return text
