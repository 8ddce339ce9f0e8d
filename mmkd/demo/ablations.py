"""The miniature reproduction: the demo setting over several seeds and the
paper's ablations, as a markdown table of mean +- std mAP; and the
comparison with the feature-distillation methods that came after
(``--compare``, see ``mmkd.demo.comparison``).

    python tools/analysis_tools/reproduce_ablations.py \
        [--seeds 0 1 2] [--rows full student ...] [--work-dir DIR] \
        [--teacher-ckpt CKPT] [--jobs 2] [--compare | --sweep --cost]

Every run goes through ``tools/train.py`` / ``tools/test.py`` with the demo
configs; each ablation is the distillation config with ``--cfg-options``
switching terms off. One teacher is trained (seed 0) and shared by all rows;
choices are made on the validation split and the table reports the test
split. A finished run is reused, so an interrupted reproduction continues.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Optional

from mmkd.analysis.stats import compare, mean_std
from . import comparison
from .comparison import COMPARED, SWEEP_FACTORS, method_options
from .pipeline import MODES, RUNS, data_options, run, train
from .report import read_json_lines, val_curve

TEACHER, STUDENT, DISTILLED = (config for _, config in RUNS)
L2_REG = DISTILLED.replace('.py', '_l2reg.py')
# A student twice as wide (0.98M parameters against 0.25M): how the share
# of the gap closed depends on the student's capacity.
STUDENT_W16 = STUDENT.replace('r18w8', 'r18w16')
DISTILLED_W16 = DISTILLED.replace('r18w8', 'r18w16')
T2 = ['model.distill_losses.rpn_kd.T=2.0', 'model.distill_losses.rcn_kd.T=2.0']
TERMS = ('rpn_kd', 'rpn_reg', 'rcn_kd', 'rcn_reg', 'hint')


def _off(*terms):
    return [f'model.distill_losses.{t}=None' for t in terms]


# The later methods on the demo pair's hint level and adaptation layer: the
# terms of configs/_base_/distill/<method>.py with the paper's switched off
# (the same models as configs/kd/frcnn_r18w32_r18w8_synthetic_<method>.py,
# built from the demo's distillation config, whichever student it has).
FITNETS = _off('rpn_kd', 'rpn_reg', 'rcn_kd',
               'rcn_reg') + method_options('fitnets')
PKD = _off(*TERMS) + method_options('pkd')
CWD = _off(*TERMS) + method_options('cwd')


class Row(NamedTuple):
    """One setting: its label, config and ``--cfg-options``; the row it is
    compared with and the direction the paper reports for that comparison
    (``'>'`` better, ``'<'`` worse, ``'='`` no change by construction,
    ``None`` not reported); and the row of the same student trained alone,
    from which the share of the teacher-student gap is counted."""
    label: str
    config: str
    options: list
    baseline: Optional[str] = None
    paper: Optional[str] = None
    alone: str = 'student'


ROWS = {
    'student':
    Row('student alone', STUDENT, []),
    # The distiller's data flow with nothing distilled: must match the
    # student alone (same schedule, same data), or the comparison is unfair.
    'control':
    Row('distiller, every term off (control)', DISTILLED, _off(*TERMS),
        'student', '='),
    'hint':
    Row('hint only', DISTILLED, _off('rpn_kd', 'rcn_kd', 'rpn_reg', 'rcn_reg'),
        'student', '>'),
    'kd':
    Row('KD only (weighted cross-entropy)', DISTILLED,
        _off('rpn_reg', 'rcn_reg', 'hint'), 'student', '>'),
    'kd_plain':
    Row(
        'KD only, plain cross-entropy (w_bg = 1)', DISTILLED,
        _off('rpn_reg', 'rcn_reg', 'hint') + [
            'model.distill_losses.rpn_kd.bg_weight=1.0',
            'model.distill_losses.rcn_kd.bg_weight=1.0'
        ], 'kd', '<'),
    'kd_bounded':
    Row('KD + bounded regression', DISTILLED, _off('hint'), 'kd', '>'),
    'kd_l2':
    Row('KD + plain L2 regression', L2_REG, _off('hint'), 'kd_bounded', '<'),
    'full':
    Row('full method (KD + bounded + hint)', DISTILLED, [], 'kd_bounded', '>'),
    # No adaptation layer: the 16 student channels repeated over blocks of
    # 4 of the teacher's 64 (FixedChannelMap, nothing learned).
    'no_adapter':
    Row('full, no adaptation layer (fixed channel map)', DISTILLED,
        ['model.adapters.0.type=FixedChannelMap'], 'full', '<'),
    'full_t2':
    Row('full, temperature T = 2', DISTILLED, T2, 'full', None),
    'student_w16':
    Row('half-width student alone', STUDENT_W16, [], alone='student_w16'),
    'full_w16':
    Row('full method, half-width student', DISTILLED_W16, [], 'student_w16',
        '>', 'student_w16'),
    'full_w16_t2':
    Row('full, half-width student, T = 2', DISTILLED_W16, T2, 'full_w16', None,
        'student_w16'),
    # The methods that came after (--compare); each paper reports a gain
    # over the student alone.
    'fitnets':
    Row('FitNets (hint alone)', DISTILLED, FITNETS, 'student', '>'),
    'pkd':
    Row('PKD', DISTILLED, PKD, 'student', '>'),
    'cwd':
    Row('CWD', DISTILLED, CWD, 'student', '>'),
    'chen2017_pkd':
    Row('full method + PKD', DISTILLED, method_options('pkd'), 'full', None),
}
METHODS = ('fitnets', 'pkd', 'cwd', 'chen2017_pkd')
# The paper's ablations, run when --rows is not given.
DEFAULT_ROWS = [row for row in ROWS if 'w16' not in row and row not in METHODS]
PAPER_WORDS = {'>': 'better', '<': 'worse', '=': 'the same'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument(
        '--rows',
        nargs='+',
        default=None,
        choices=list(ROWS),
        help='default: the paper\'s ablations (the *_w16 rows, a student '
        'twice as wide, and the later methods are run only when named), or '
        'with --compare the comparison\'s rows')
    parser.add_argument(
        '--compare',
        action='store_true',
        help='the comparison of methods: the rows '
        f'{", ".join(COMPARED)} (unless --rows), with --sweep and --cost')
    parser.add_argument(
        '--sweep',
        action='store_true',
        help='choose the swept weight of each row that has one '
        '(comparison.sweeps) on the validation split: one run of the first '
        'seed per candidate, then every seed at the chosen weight')
    parser.add_argument(
        '--sweep-factors',
        type=float,
        nargs='+',
        default=list(SWEEP_FACTORS),
        help='the candidates: the published weight times these (the same '
        'for every method)')
    parser.add_argument(
        '--cost',
        action='store_true',
        help='D / (S + F) of each distilled row, from '
        'tools/analysis_tools/benchmark_distill.py')
    parser.add_argument('--work-dir', default='work_dirs/reproduction')
    parser.add_argument(
        '--data-root',
        default=MODES['full']['data'],
        help='the demo dataset (generated if absent)')
    parser.add_argument(
        '--teacher-ckpt',
        default=None,
        help='use this teacher (e.g. the demo\'s, '
        'work_dirs/demo/teacher/epoch_12.pth) instead of '
        'training one with seed 0')
    parser.add_argument(
        '--extra',
        nargs='*',
        default=[],
        help='more --cfg-options for every run')
    parser.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='runs trained at once, each with CPUs/JOBS torch threads and '
        'its output in WORK_DIR/logs/ (2 on 2 CPU cores: about 1.8x the '
        'runs per hour of one at a time)')
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = list(COMPARED) if args.compare else DEFAULT_ROWS
    args.sweep = args.sweep or args.compare
    args.cost = args.cost or args.compare
    # A row or seed given twice would train twice into one folder.
    args.rows = list(dict.fromkeys(args.rows))
    args.seeds = list(dict.fromkeys(args.seeds))
    if args.jobs < 1:
        parser.error(f'--jobs {args.jobs}: give 1 or more')
    return args


def val_map(run_dir):
    """Validation mAP after the last epoch, from the training log (the
    schedule validates every epoch)."""
    curve = val_curve(run_dir)
    if not curve:
        raise SystemExit(f'no validation mAP in the logs under {run_dir}')
    return curve[-1][1]


def test_map(config, ckpt, out_dir, options, env=None, log=None):
    """Test-split mAP of ``ckpt``, via tools/test.py (kept in
    ``OUT_DIR/test.json``, so a rerun does not test again)."""
    result = osp.join(out_dir, 'test.json')
    if not osp.isfile(result):
        run([
            sys.executable, 'tools/test.py', config, ckpt, '--work-dir',
            osp.join(out_dir, 'test'), '--cfg-options', *options
        ],
            env=env,
            log=log)
        logs = osp.join(out_dir, 'test', '*', '*.json')
        lines = [x for x in read_json_lines(logs) if 'coco/bbox_mAP' in x]
        # CocoMetric logs nothing for a model that detects nothing.
        with open(result, 'w') as f:
            json.dump(lines[-1] if lines else {'coco/bbox_mAP': 0.0}, f)
    with open(result) as f:
        return json.load(f)['coco/bbox_mAP']


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    data_root = osp.abspath(args.data_root)
    start = time.time()
    run([
        sys.executable, 'tools/dataset_converters/generate_synthetic.py',
        '--out', data_root, *MODES['full']['generate']
    ])
    base = data_options(data_root) + args.extra
    if args.teacher_ckpt:
        if not osp.isfile(args.teacher_ckpt):
            raise SystemExit(f'--teacher-ckpt {args.teacher_ckpt}: no such '
                             'file; train the teacher (tools/demo.py) or '
                             'leave the option out to train one here')
        teacher = osp.abspath(args.teacher_ckpt)
        teacher_dir = osp.join(work_dir, 'teacher_given')
    else:
        teacher_dir = osp.join(work_dir, 'teacher_seed0')
        teacher = train('teacher', TEACHER, teacher_dir,
                        base + ['randomness.seed=0'], False)

    def one(row, seed, env, log, weight=None, tested=True):
        return _one_run(row, seed, work_dir, base, teacher, env, log, weight,
                        tested)

    def all_runs(runs, fn):
        return run_all(runs, args.jobs, fn, work_dir)

    chosen, swept = {}, {}
    if args.sweep:  # validation only: the candidates are not tested
        swept = comparison.run_sweeps(args.rows, args.sweep_factors,
                                      args.seeds[0],
                                      lambda *a: one(*a, tested=False),
                                      all_runs)
        chosen = {row: comparison.choose(val) for row, val in swept.items()}
    # Every seed of a row at its chosen weight (the sweep's run is reused).
    names = {
        comparison.run_name(row, chosen.get(row)): row
        for row in args.rows
    }
    runs = [(name, seed) for name in names for seed in args.seeds]
    results = all_runs(
        runs, lambda name, seed, env, log: one(names[name], seed, env, log,
                                               chosen.get(names[name])))
    scores = {}
    for name, seed in runs:
        val, test = results[name, seed]
        scores.setdefault(names[name], {'val': [], 'test': []})
        scores[names[name]]['val'].append(val)
        scores[names[name]]['test'].append(test)
    t_test = test_map(TEACHER, teacher, teacher_dir, base)
    minutes = (time.time() - start) / 60
    print(
        write_table(scores, t_test, args.seeds,
                    osp.join(work_dir, 'ablations.md'), minutes))
    if args.sweep or args.cost:
        # Timed after the training, one at a time: other runs would
        # disturb the step times.
        costs = {
            row: _cost(row, chosen.get(row), work_dir, teacher)
            for row in args.rows if args.cost and ROWS[row].alone != row
        }
        labels = {row: ROWS[row].label for row in args.rows}
        print(
            comparison.write_comparison(labels, scores, chosen, swept, costs,
                                        t_test, args.seeds,
                                        osp.join(work_dir, 'comparison.md')))


def _options(row, weight=None):
    """The row's ``--cfg-options``, with its swept weight when given."""
    options = list(ROWS[row].options)
    if weight is not None:
        options.append(f'{comparison.sweeps()[row].key}={weight:g}')
    return options


def _one_run(row,
             seed,
             work_dir,
             base,
             teacher,
             env,
             log,
             weight=None,
             tested=True):
    """Train (or reuse) one row with one seed (at ``weight``, the row's
    swept weight, when given): ``(val mAP, test mAP)``; the test mAP is
    None unless ``tested``."""
    config = ROWS[row].config
    name = comparison.run_name(row, weight)
    run_dir = osp.join(work_dir, f'{name}_seed{seed}')
    opts = base + _options(row, weight) + [f'randomness.seed={seed}']
    if ROWS[row].alone != row:  # a distilled row
        opts.append(f'model.teacher_ckpt={teacher}')
    ckpt = train(name, config, run_dir, opts, False, env=env, log=log)
    if not tested:
        return val_map(run_dir), None
    # Tested with the options it trained with: the row's switched-off terms
    # (and their adapters) are not in its checkpoint.
    return val_map(run_dir), test_map(config, ckpt, run_dir, opts, env, log)


def _cost(row, weight, work_dir, teacher):
    """D / (S + F) of a distilled row (``comparison.measure_cost``)."""
    options = _options(row, weight) + [f'model.teacher_ckpt={teacher}']
    out = osp.join(work_dir, f'cost_{comparison.run_name(row, weight)}.json')
    return comparison.measure_cost(ROWS[row].config, options, out)


def run_all(runs, jobs, one, work_dir):
    """``{(row, seed): one(row, seed, env, log)}`` for every run, ``jobs``
    at a time.

    One at a time, each tool streams to the terminal and keeps the
    machine's threads. With ``jobs > 1`` every run gets
    ``OMP_NUM_THREADS = CPUs // jobs`` (unless it is set) and its output in
    ``WORK_DIR/logs/ROW_seedN.log``; a failed run does not stop the others,
    and the failures are named together at the end (the finished runs are
    kept, so a rerun continues).
    """
    if jobs == 1:
        return {(row, seed): one(row, seed, None, None) for row, seed in runs}
    cpus = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else (os.cpu_count() or 1)
    threads = os.environ.get('OMP_NUM_THREADS', str(max(1, cpus // jobs)))
    env = dict(OMP_NUM_THREADS=threads)

    def job(row, seed):
        log = osp.join(work_dir, 'logs', f'{row}_seed{seed}.log')
        print(
            f'[reproduce] {row} seed {seed}: started, output in {log}',
            flush=True)
        start = time.time()
        result = one(row, seed, env, log)
        val, test = ('-' if x is None else f'{x:.3f}' for x in result)
        print(
            f'[reproduce] {row} seed {seed}: val {val}, test {test} '
            f'({(time.time() - start) / 60:.1f} min)',
            flush=True)
        return result

    pool = ThreadPoolExecutor(max_workers=jobs)
    results, failed = {}, []
    try:
        futures = {run: pool.submit(job, *run) for run in runs}
        for (row, seed), future in futures.items():
            try:
                results[row, seed] = future.result()
            except SystemExit as exc:  # run() names the tool and its log
                failed.append(f'{row} seed {seed}: {exc}')
            except Exception as exc:  # noqa: BLE001 - named with the others
                failed.append(f'{row} seed {seed}: {type(exc).__name__}: '
                              f'{exc}')
    except BaseException:
        # Ctrl-C: start no queued run (the running tools get the signal).
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    if failed:
        raise SystemExit('reproduce: ' + '; '.join(failed))
    return results


def _verdict(row, scores):
    """``(vs, difference, as in the paper)`` cells of ``row``."""
    spec = ROWS[row]
    if spec.baseline is None or spec.baseline not in scores:
        return '', '', ''
    # Paired by seed: a seed fixes the student's initial weights and the
    # data order in every row (the distiller builds its teacher and
    # adapters on a forked random stream).
    cmp = compare(
        scores[row]['test'], scores[spec.baseline]['test'], paired=True)
    diff = (f"{cmp['diff']:+.3f} [{cmp['low']:+.3f}, {cmp['high']:+.3f}], "
            f"z = {cmp['z']:+.1f}")
    if spec.paper is None:
        return ROWS[spec.baseline].label, diff, 'not reported'
    outside = cmp['low'] > 0 or cmp['high'] < 0
    if spec.paper == '=':
        word = 'as in the paper' if not outside else 'not'
    else:
        wanted = cmp['diff'] > 0 if spec.paper == '>' else cmp['diff'] < 0
        word = ('as in the paper' if wanted and outside else
                'same direction, within noise' if wanted else 'not')
    verdict = f"{word} ({PAPER_WORDS[spec.paper]}; {cmp['z']:+.1f} sigma)"
    return ROWS[spec.baseline].label, diff, verdict


def write_table(scores, teacher_map, seeds, path, minutes=None):
    """The markdown table of ``scores`` (``{row: {'val': [...], 'test':
    [...]}}``), written to ``path`` and returned."""
    took = f' This run took {minutes:.0f} min.' if minutes else ''
    lines = [
        f'Test mAP (COCO-style), mean +- std over seeds {seeds}; the '
        f'teacher (seed 0) scores {teacher_map:.3f}.{took} The difference '
        'to the compared row is the mean of the per-seed differences, with '
        'its 95% confidence interval and z (the difference over its '
        'standard error); '
        '"as in the paper" needs the interval to exclude 0 in the '
        "paper's direction.", '',
        '| setting | val mAP | test mAP | gap closed | compared with | '
        'difference [95% CI] | paper\'s direction |',
        '|---|---:|---:|---:|---|---|---|'
    ]
    for row, split_scores in scores.items():
        val_m, val_s = mean_std(split_scores['val'])
        test_m, test_s = mean_std(split_scores['test'])
        closed = ''
        alone = scores.get(ROWS[row].alone)
        student = mean_std(alone['test'])[0] if alone else None
        if student is not None and teacher_map > student:
            closed = f'{(test_m - student) / (teacher_map - student):.0%}'
        vs, diff, verdict = _verdict(row, scores)
        lines.append(f'| {ROWS[row].label} | {val_m:.3f} +- {val_s:.3f} | '
                     f'{test_m:.3f} +- {test_s:.3f} | {closed} | {vs} | '
                     f'{diff} | {verdict} |')
    lines.append(f'| teacher (seed 0) | | {teacher_map:.3f} | 100% | | | |')
    text = '\n'.join(lines)
    with open(path, 'w') as f:
        f.write(text + '\n')
    return text


if __name__ == '__main__':
    main()
