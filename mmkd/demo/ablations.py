"""The miniature reproduction: the demo setting over several seeds and the
paper's ablations, as a markdown table of mean +- std mAP; and the
comparison with the feature-distillation methods that came after
(``--compare``, see ``mmkd.demo.comparison``).

    python tools/analysis_tools/reproduce_ablations.py \
        [--seeds 0 1 2] [--rows full student ...] [--work-dir DIR] \
        [--teacher-ckpt CKPT] [--jobs 2] [--compare | --sweep --cost]

Every run goes through ``tools/train.py`` / ``tools/test.py`` with the demo
configs; each ablation is the distillation config with ``--cfg-options``
switching terms off. Each teacher is trained once (seed 0) and shared by
the rows it teaches (the demo's Faster R-CNN, and for the named family rows
a Mask R-CNN and a Cascade R-CNN); choices are made on the validation split
and the table reports the test split (Mask R-CNN rows: box and mask mAP). A
finished run is reused, so an interrupted reproduction continues.
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time
from typing import NamedTuple, Optional

from mmkd.analysis.logs import read_json_lines, val_curve
from . import comparison
from .ablation_table import ablation_table
from .comparison import COMPARED, SWEEP_FACTORS, method_options
from .jobs import Job, run_jobs
from .pipeline import MODES, RUNS, check_outputs, data_options, run, train

TEACHER, STUDENT, DISTILLED = (config for _, config in RUNS)
L2_REG = DISTILLED.replace('.py', '_l2reg.py')
# A student half as wide as the demo's (0.25M parameters against 0.98M):
# how the share of the gap closed depends on the student's capacity.
STUDENT_W8 = STUDENT.replace('r18w16', 'r18w8')
DISTILLED_W8 = DISTILLED.replace('r18w16', 'r18w8')
# Other RoI-head families on the same data and trunks: Mask R-CNN teacher,
# student and distilled student (box and mask mAP; the quarter-width
# students, the cheapest), and the demo's Faster R-CNN student distilled by
# a Cascade R-CNN teacher.
MASK_TEACHER = 'configs/mask_rcnn/mask_rcnn_r18w32_synthetic.py'
MASK_STUDENT = 'configs/mask_rcnn/mask_rcnn_r18w8_synthetic.py'
MASK_DISTILLED = 'configs/kd/mask_rcnn_r18w32_r18w8_synthetic.py'
CASCADE_TEACHER = 'configs/cascade_rcnn/cascade_rcnn_r18w32_synthetic.py'
CASCADE_DISTILLED = 'configs/kd/cascade_r18w32_frcnn_r18w16_synthetic.py'
T2 = ['model.distill_losses.rpn_kd.T=2.0', 'model.distill_losses.rcn_kd.T=2.0']
TERMS = ('rpn_kd', 'rpn_reg', 'rcn_kd', 'rcn_reg', 'hint')


def _off(*terms):
    return [f'model.distill_losses.{t}=None' for t in terms]


# The later methods on the demo pair's hint level and adaptation layer: the
# terms of configs/_base_/distill/<method>.py with the paper's switched off
# (the same models as configs/kd/frcnn_r18w32_r18w16_synthetic_<method>.py,
# built from the demo's distillation config, whichever student it has).
FITNETS = _off('rpn_kd', 'rpn_reg', 'rcn_kd',
               'rcn_reg') + method_options('fitnets')
PKD = _off(*TERMS) + method_options('pkd')
CWD = _off(*TERMS) + method_options('cwd')


class Row(NamedTuple):
    """One setting: its label, config and ``--cfg-options``; the row it is
    compared with and the direction the paper reports for that comparison
    (``'>'`` better, ``'<'`` worse, ``'='`` no change by construction,
    ``None`` not reported); the row of the same student trained alone,
    from which the share of the teacher-student gap is counted; and the
    teacher's config (of a distilled row)."""
    label: str
    config: str
    options: list
    baseline: Optional[str] = None
    paper: Optional[str] = None
    alone: str = 'student'
    teacher: str = TEACHER


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
    'student_w8':
    Row('quarter-width student alone', STUDENT_W8, [], alone='student_w8'),
    'full_w8':
    Row('full method, quarter-width student', DISTILLED_W8, [], 'student_w8',
        '>', 'student_w8'),
    'full_w8_t2':
    Row('full, quarter-width student, T = 2', DISTILLED_W8, T2, 'full_w8',
        None, 'student_w8'),
    # Mask R-CNN: the paper's terms on the box side, the student's mask
    # head on its own loss (and, beyond the paper, with mask KD).
    'mask_student':
    Row('Mask R-CNN student alone',
        MASK_STUDENT, [],
        alone='mask_student',
        teacher=MASK_TEACHER),
    'mask_full':
    Row('Mask R-CNN, full method', MASK_DISTILLED, [], 'mask_student', '>',
        'mask_student', MASK_TEACHER),
    'mask_full_mask_kd':
    Row('Mask R-CNN, full method + mask KD',
        MASK_DISTILLED.replace('.py', '_mask_kd.py'), [], 'mask_full', None,
        'mask_student', MASK_TEACHER),
    # The same Faster R-CNN student, a Cascade R-CNN teacher (soft targets:
    # the cascade's test-time ensemble; bound: its stage 0).
    'cascade_full':
    Row('full method, Cascade R-CNN teacher', CASCADE_DISTILLED, [], 'full',
        None, 'student', CASCADE_TEACHER),
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
# Rows run only when named: a student half as wide (the *_w8 rows), the
# other RoI-head families (each family's teacher is trained only when one
# of its rows runs), the later methods.
NAMED_ROWS = ('student_w8', 'full_w8', 'full_w8_t2', 'mask_student',
              'mask_full', 'mask_full_mask_kd', 'cascade_full') + METHODS
# The paper's ablations, run when --rows is not given.
DEFAULT_ROWS = [row for row in ROWS if row not in NAMED_ROWS]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument(
        '--rows',
        nargs='+',
        default=None,
        choices=list(ROWS),
        help='default: the paper\'s ablations, or with --compare the '
        'comparison\'s rows; run only when named: the *_w8 rows (a student '
        'half as wide), the mask_* rows (Mask R-CNN, box and mask mAP), '
        'cascade_full (a Cascade R-CNN teacher) and the later methods')
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
        help='use this Faster R-CNN teacher (e.g. the demo\'s, '
        'work_dirs/demo/teacher/epoch_8.pth) instead of '
        'training one with seed 0 (the other families\' teachers are '
        'trained here)')
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


def test_metrics(config, ckpt, out_dir, options, env=None, log=None):
    """Test-split metrics of ``ckpt`` (``coco/bbox_mAP``, and
    ``coco/segm_mAP`` for a mask model), via tools/test.py (kept in
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
        return json.load(f)


def test_map(config, ckpt, out_dir, options, env=None, log=None):
    """Test-split box mAP of ``ckpt`` (see :func:`test_metrics`)."""
    return test_metrics(config, ckpt, out_dir, options, env,
                        log)['coco/bbox_mAP']


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root)
    check_outputs(work_dir, data_root)
    os.makedirs(work_dir, exist_ok=True)
    start = time.time()
    run([
        sys.executable, 'tools/dataset_converters/generate_synthetic.py',
        '--out', data_root, *MODES['full']['generate']
    ])
    base = data_options(data_root) + args.extra
    teachers = _teachers(args, work_dir, base)

    def one(row, seed, env, log, weight=None, tested=True):
        return _one_run(row, seed, work_dir, base, teachers, env, log, weight,
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
    failures = []

    def seed_run(name, seed, env, log):
        # A failed run (a weight that diverges with this seed, say) scores
        # NaN: the tables are written with it marked, then it is named.
        row = names[name]
        try:
            return one(row, seed, env, log, chosen.get(row))
        except SystemExit as exc:  # the tool's message names its log
            failures.append(f'{name} seed {seed}: {exc}')
            print(f'[reproduce] {name} seed {seed} failed: {exc}', flush=True)
            masked = 'mask_rcnn' in ROWS[row].config
            return math.nan, math.nan, math.nan if masked else None

    results = all_runs(runs, seed_run)
    scores = {}
    for name, seed in runs:
        val, test, *mask = results[name, seed]
        row = names[name]
        scores.setdefault(row, {'val': [], 'test': []})
        scores[row]['val'].append(val)
        scores[row]['test'].append(test)
        if mask and mask[0] is not None:
            scores[row].setdefault('test_mask', []).append(mask[0])
    teacher_scores = {
        config: test_metrics(config, ckpt, run_dir, base)
        for config, (ckpt, run_dir) in teachers.items()
    }
    minutes = (time.time() - start) / 60
    print(
        write_table(scores, teacher_scores, args.seeds,
                    osp.join(work_dir, 'ablations.md'), minutes))
    if args.sweep or args.cost:
        # Timed after the training, one at a time: other runs would
        # disturb the step times.
        costs = {
            row: _cost(row, chosen.get(row), work_dir, teachers)
            for row in args.rows if args.cost and ROWS[row].alone != row
        }
        labels = {row: ROWS[row].label for row in args.rows}
        t_test = teacher_scores[TEACHER]['coco/bbox_mAP']
        print(
            comparison.write_comparison(labels, scores, chosen, swept, costs,
                                        t_test, args.seeds,
                                        osp.join(work_dir, 'comparison.md')))
    if failures:
        raise SystemExit('reproduce: the tables are written; these runs '
                         'failed (marked there): ' + '; '.join(failures))


def _teachers(args, work_dir, base):
    """``{teacher config: (checkpoint, run folder)}`` of the teachers the
    rows need: given (--teacher-ckpt, the demo's Faster R-CNN), else
    trained here with seed 0."""
    # a row trained alone needs its family's teacher for the gap closed
    needed = dict.fromkeys(ROWS[row].teacher for row in args.rows)
    teachers = {}
    for config in needed:
        if config == TEACHER and args.teacher_ckpt:
            if not osp.isfile(args.teacher_ckpt):
                raise SystemExit(
                    f'--teacher-ckpt {args.teacher_ckpt}: no such file; '
                    'train the teacher (tools/demo.py) or leave the option '
                    'out to train one here')
            teachers[config] = (osp.abspath(args.teacher_ckpt),
                                osp.join(work_dir, 'teacher_given'))
            continue
        name = osp.splitext(osp.basename(config))[0]
        run_dir = osp.join(
            work_dir,
            'teacher_seed0' if config == TEACHER else f'teacher_{name}_seed0')
        teachers[config] = (train(f'teacher {name}', config, run_dir,
                                  base + ['randomness.seed=0'],
                                  False), run_dir)
    return teachers


def _options(row, weight=None):
    """The row's ``--cfg-options``, with its swept weight when given."""
    options = list(ROWS[row].options)
    if weight is not None:
        options.append(f'{comparison.sweeps()[row].key}={weight:g}')
    return options


def _teacher_ckpt(row, teachers):
    """The checkpoint of the row's teacher (``teachers`` maps a teacher
    config to it, or to ``(checkpoint, run folder)``)."""
    teacher = teachers[ROWS[row].teacher]
    return teacher[0] if isinstance(teacher, tuple) else teacher


def _one_run(row,
             seed,
             work_dir,
             base,
             teachers,
             env,
             log,
             weight=None,
             tested=True):
    """Train (or reuse) one row with one seed (at ``weight``, the row's
    swept weight, when given): ``(val mAP, test mAP, test mask mAP or
    None)``; the test mAPs are None unless ``tested``."""
    config = ROWS[row].config
    name = comparison.run_name(row, weight)
    run_dir = osp.join(work_dir, f'{name}_seed{seed}')
    opts = base + _options(row, weight) + [f'randomness.seed={seed}']
    if ROWS[row].alone != row:  # a distilled row
        opts.append(f'model.teacher_ckpt={_teacher_ckpt(row, teachers)}')
    ckpt = train(name, config, run_dir, opts, False, env=env, log=log)
    if not tested:
        return val_map(run_dir), None, None
    # Tested with the options it trained with: the row's switched-off terms
    # (and their adapters) are not in its checkpoint.
    metrics = test_metrics(config, ckpt, run_dir, opts, env, log)
    return (val_map(run_dir), metrics['coco/bbox_mAP'],
            metrics.get('coco/segm_mAP'))


def _cost(row, weight, work_dir, teachers):
    """D / (S + F) of a distilled row (``comparison.measure_cost``)."""
    options = _options(
        row, weight) + [f'model.teacher_ckpt={_teacher_ckpt(row, teachers)}']
    out = osp.join(work_dir, f'cost_{comparison.run_name(row, weight)}.json')
    return comparison.measure_cost(ROWS[row].config, options, out)


def run_all(runs, jobs, one, work_dir):
    """``{(row, seed): one(row, seed, env, log)}`` for every run, ``jobs``
    at a time (``mmkd.demo.jobs``).

    One at a time, each tool streams to the terminal and keeps the
    machine's threads. With ``jobs > 1`` every run gets
    ``OMP_NUM_THREADS = CPUs // jobs`` (unless it is set) and its output in
    ``WORK_DIR/logs/ROW_seedN.log``. A failed run does not stop the others,
    and the failures are named together at the end (the finished runs are
    kept, so a rerun continues).
    """

    def job(row, seed):

        def fn(env, log):
            result = one(row, seed, env, log)
            if log is not None:  # the tool's own output went to the log
                val, test = ('-' if x is None else f'{x:.3f}'
                             for x in result[:2])
                print(
                    f'[reproduce] {row} seed {seed}: val {val}, test {test}',
                    flush=True)
            return result

        return Job(f'{row}_seed{seed}', fn)

    results = run_jobs([job(row, seed) for row, seed in runs],
                       jobs,
                       osp.join(work_dir, 'logs'),
                       prefix='[reproduce]',
                       keep_going=True)
    return {(row, seed): results[f'{row}_seed{seed}'] for row, seed in runs}


def write_table(scores, teachers, seeds, path, minutes=None):
    """The markdown table of ``scores`` (``{row: {'val': [...], 'test':
    [...], 'test_mask': [...] for mask rows}}``), written to ``path`` and
    returned; ``teachers`` maps each teacher config to its test metrics
    (a number: the demo teacher's box mAP)."""
    if not isinstance(teachers, dict):
        teachers = {TEACHER: {'coco/bbox_mAP': teachers}}
    return ablation_table(ROWS, scores, teachers, seeds, path, minutes)


if __name__ == '__main__':
    main()
