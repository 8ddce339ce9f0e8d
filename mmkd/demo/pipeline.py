"""The built-in demo: teacher, student and distilled student on the
generated dataset, with a report.

    python tools/demo.py [--quick] [--work-dir work_dirs/demo]

(``tools/demo.py`` is the command line; this module is the pipeline.)

1. generates the dataset if absent (``tools/dataset_converters/
   generate_synthetic.py``);
2. trains the teacher, the student alone and the distilled student with
   ``tools/train.py`` and the configs under ``configs/`` (a finished run is
   reused; an interrupted one resumes);
3. evaluates all three on the test split with ``tools/test.py`` (COCO mAP
   and mAP@0.5) and measures parameters and inference ms/image;
4. writes ``WORK_DIR/report.md`` with the table and ``detections.png``:
   the ground truth and the detections of the teacher, the student alone
   and the distilled student on the same test images.

The trainings run without validation (nothing here reads it); with
``--jobs 2`` (default on 2 CPUs) the teacher trains alone with every
thread, then the two students train side by side. ``--quick`` runs the same
tools, one after the other, in this process.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from mmkd.utils.cpus import cpu_count
from mmkd.utils.ports import free_port
from mmkd.utils.scripts import load_script
from .jobs import Job, run_jobs
from .report import collect_run, draw_side_by_side, measure_speed, write_report

# The demo runs the repository's tools and configs (mmkd is installed in
# editable mode from it).
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

RUNS = (
    ('teacher', 'configs/faster_rcnn/frcnn_r18w32_synthetic.py'),
    ('student', 'configs/faster_rcnn/frcnn_r18w16_synthetic.py'),
    ('distilled', 'configs/kd/frcnn_r18w32_r18w16_synthetic.py'),
)
# No validation during the demo's trainings: nothing in the demo reads it
# (the three are evaluated on the test split afterwards; the choices behind
# the configs were made on the validation split, see docs/reproduction.md).
NO_VALIDATION = ['val_dataloader=None', 'val_cfg=None', 'val_evaluator=None']
# The full demo uses the configs' own schedules and the default dataset
# size; --quick shrinks both to check the whole pipeline in minutes.
MODES = dict(
    full=dict(
        data='data/synthetic_demo',
        # 1000 evaluation images: 300 left the seed-to-seed spread of a
        # 4-epoch student as large as the effects the reproduction measures.
        generate=[
            '--num-train', '1000', '--num-val', '500', '--num-test', '1000'
        ],
        cfg_options=NO_VALIDATION),
    quick=dict(
        data='data/synthetic_quick',
        generate=['--num-train', '48', '--num-val', '8', '--num-test', '8'],
        cfg_options=['train_cfg.max_epochs=1'] + NO_VALIDATION))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--quick',
        action='store_true',
        help='a reduced run (small data, 1 epoch each)')
    parser.add_argument(
        '--work-dir',
        default=None,
        help='default: work_dirs/demo (or demo_quick)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='training seed (the dataset seed is fixed)')
    parser.add_argument(
        '--data-root',
        default=None,
        help='where the generated dataset is (or goes)')
    parser.add_argument(
        '--force',
        action='store_true',
        help='retrain runs that already finished')
    parser.add_argument(
        '--teacher-processes',
        type=int,
        default=min(2, cpu_count()),
        help='DDP processes (gloo) the teacher trains on, each with 1/N of '
        'its batch and CPUs/N threads (default: 2 where there are 2 CPUs: '
        '0.23-0.32 s a step against 0.26-0.32 s for one process with both '
        'threads, side by side in docs/reproduction.md); --quick trains it '
        'in one')
    parser.add_argument(
        '--jobs',
        type=int,
        default=min(2, cpu_count()),
        help='runs at once, each with CPUs/JOBS torch threads and its '
        'output in WORK_DIR/logs/ (default: 2 where there are 2 CPUs: the '
        'student alone and the tests run beside the teacher)')
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f'--jobs {args.jobs}: give 1 or more')
    if args.teacher_processes < 1:
        parser.error(f'--teacher-processes {args.teacher_processes}: give 1 '
                     'or more')
    return args


# --quick runs the tools in the demo's own process, one after the other
# (main(argv) of tools/*.py, the same code path without an interpreter
# start of about 5 s CPU each); the full demo starts each tool as its own
# process so that runs can go side by side.
_IN_PROCESS = []


def run(cmd: list, env: dict = None, log: str = None) -> None:
    """Run a tool, streaming its output (appended to ``log`` instead when
    given); stop the demo if it fails."""
    line = '$ ' + ' '.join(cmd)
    full_env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    if _IN_PROCESS:
        print(line, flush=True)
        code = run_in_process(cmd[1], cmd[2:])
    elif log is None:
        print(line, flush=True)
        code = subprocess.call(cmd, cwd=ROOT, env=full_env)
    else:
        os.makedirs(osp.dirname(log), exist_ok=True)
        with open(log, 'a') as f:
            f.write(line + '\n')
            f.flush()
            code = subprocess.call(
                cmd,
                cwd=ROOT,
                env=full_env,
                stdout=f,
                stderr=subprocess.STDOUT)
    if code != 0:
        where = 'its output above' if log is None else log
        tool = next((a for a in cmd[1:] if a.endswith('.py')), cmd[1])
        raise SystemExit(f'demo: {tool} failed with exit code {code}; '
                         f'see {where}')


def run_in_process(tool: str, argv: list) -> int:
    """``main(argv)`` of ``tool`` (a path under the repository) in this
    process; its exit code (a tool's ``error:`` line is printed by the tool
    before it exits with 2)."""
    try:
        # what main returns, the script ignores too
        load_script(osp.join(ROOT, tool)).main(argv)
        code = None
    except SystemExit as exc:
        code = exc.code
    if code is None:
        return 0
    if not isinstance(code, int):  # sys.exit('message')
        print(code, file=sys.stderr, flush=True)
        return 1
    return code


def data_options(data_root: str) -> list:
    root = data_root.rstrip('/') + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val.json',
        f'test_evaluator.ann_file={root}annotations/instances_test.json',
    ]


def check_outputs(work_dir: str, data_root: str) -> None:
    """``--work-dir`` and ``--data-root`` can be written, before the first
    run (``error: ...`` otherwise)."""
    from mmkd.utils.errors import exit_on_user_error
    from mmkd.utils.output_paths import check_output
    with exit_on_user_error():
        check_output(work_dir, '--work-dir', folder=True)
        check_output(data_root, '--data-root', folder=True)


def last_checkpoint(work_dir: str):
    """The run's newest checkpoint (``mmkd.engine.checkpoint.
    latest_checkpoint``: its ``last_checkpoint`` pointer, or the newest
    complete checkpoint when the pointer names no file, e.g. after the
    folder was moved); None before the first one."""
    from mmkd.engine.checkpoint import latest_checkpoint
    return latest_checkpoint(work_dir) if osp.isdir(work_dir) else None


def check_recipe(name: str, work_dir: str, recipe: dict) -> None:
    """A run folder is reused (finished) or resumed (interrupted) only for
    the config and options it was started with (``WORK_DIR/run.json``);
    another recipe is an ``error:`` naming the settings that differ. A
    folder without ``run.json`` (older runs) is not checked."""
    path = osp.join(work_dir, 'run.json')
    if not osp.isfile(path):
        return
    with open(path) as f:
        earlier = json.load(f)
    if earlier == recipe:
        return
    if earlier.get('config') != recipe['config']:
        what = f"config {earlier.get('config')}, not {recipe['config']}"
    else:
        then, now = earlier.get('options', []), recipe['options']
        what = (f'options {[o for o in then if o not in now]}, not '
                f'{[o for o in now if o not in then]}')
    raise SystemExit(
        f'error: {work_dir} holds a {name} run started with {what}; pass '
        '--force to train it again (the earlier run is kept aside) or give '
        'another --work-dir')


def launch_options(config: str, options: list, processes: int) -> list:
    """``--cfg-options`` of a run on ``processes`` DDP processes: each
    gets ``1 / processes`` of the config's batch, so that a step sees the
    same images and learning rate as on one process."""
    if processes == 1:
        return list(options)
    from mmkd.engine.config_check import load_cfg
    batch = load_cfg(osp.join(ROOT, config),
                     options).train_dataloader.batch_size
    if batch % processes:
        raise SystemExit(f'error: {config}: a batch of {batch} images does '
                         f'not split over {processes} processes')
    return list(options) + [
        f'train_dataloader.batch_size={batch // processes}'
    ]


def train(name,
          config,
          work_dir,
          options,
          force,
          env=None,
          log=None,
          processes=1) -> str:
    """Train ``config`` into ``work_dir`` with ``tools/train.py`` (on
    ``processes`` DDP processes over gloo when more than 1), or reuse the
    finished run there, or resume the interrupted one."""
    done = osp.join(work_dir, 'DONE')
    options = launch_options(config, options, processes)
    recipe = dict(config=config, options=options)
    if processes > 1:
        recipe['processes'] = processes
    if not force:
        check_recipe(name, work_dir, recipe)
    if osp.isfile(done) and not force:
        print(f'[demo] {name}: finished earlier, reusing {work_dir}')
        return last_checkpoint(work_dir)
    if force and osp.isdir(work_dir):
        # tools/train.py never overwrites a run: keep the old one aside
        kept = f'{work_dir}.replaced-{time.strftime("%Y%m%d_%H%M%S")}'
        os.rename(work_dir, kept)
        print(f'[demo] {name}: --force, the earlier run is kept in {kept}')
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir]
    if processes > 1:
        cmd[1:1] = [
            '-m', 'torch.distributed.run', f'--nproc_per_node={processes}',
            f'--master_port={free_port()}'
        ]
        cmd += ['--launcher', 'pytorch']
        threads = (env or {}).get('OMP_NUM_THREADS', str(cpu_count()))
        env = dict(
            env or {}, OMP_NUM_THREADS=str(max(1,
                                               int(threads) // processes)))
    if last_checkpoint(work_dir):
        cmd.append('--resume')  # an interrupted run continues
    else:
        os.makedirs(work_dir, exist_ok=True)
        with open(osp.join(work_dir, 'run.json'), 'w') as f:
            json.dump(recipe, f, indent=1)
    run(cmd + ['--cfg-options', *options], env=env, log=log)
    open(done, 'w').close()
    return last_checkpoint(work_dir)


def main(argv=None):
    args = parse_args(argv)
    mode = MODES['quick' if args.quick else 'full']
    work_dir = osp.abspath(
        args.work_dir
        or osp.join(ROOT, 'work_dirs', 'demo_quick' if args.quick else 'demo'))
    data_root = osp.abspath(args.data_root or osp.join(ROOT, mode['data']))
    check_outputs(work_dir, data_root)
    start = time.time()
    if args.quick:
        _IN_PROCESS.append(True)
    try:
        run([
            sys.executable, 'tools/dataset_converters/generate_synthetic.py',
            '--out', data_root, *mode['generate']
        ])
        options = data_options(data_root) + mode['cfg_options'] + [
            f'randomness.seed={args.seed}'
        ]
        run_jobs(
            demo_jobs(work_dir, options, args.force,
                      1 if args.quick else args.teacher_processes),
            1 if args.quick else args.jobs,
            osp.join(work_dir, 'logs'),
            prefix='[demo]')
    finally:
        _IN_PROCESS.clear()
    results = {
        name:
        collect_run(config, last_checkpoint(osp.join(work_dir, name)),
                    osp.join(work_dir, name), osp.join(work_dir, name, 'test'),
                    options)
        for name, config in RUNS
    }
    # --quick checks that the timing runs, on fewer images and one round
    measure_speed(results, **(dict(images=4, rounds=1) if args.quick else {}))
    figures = dict(
        detections=draw_side_by_side(results, data_root,
                                     osp.join(work_dir, 'detections.png')))
    minutes = (time.time() - start) / 60
    report = write_report(
        results,
        figures,
        osp.join(work_dir, 'report.md'),
        minutes=minutes,
        quick=args.quick)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(
            {
                k: {
                    m: v
                    for m, v in r.items() if m != 'cfg'
                }
                for k, r in results.items()
            },
            f,
            indent=2)
    print(report)


def demo_jobs(work_dir: str,
              options: list,
              force: bool,
              teacher_processes: int = 1) -> list:
    """Train and test the three runs, in the order they should start. The
    teacher trains alone with every CPU (the longest run, which the
    distilled student waits for; on ``teacher_processes`` DDP processes);
    then the distilled student and the student alone train side by side,
    and the tests follow."""

    def train_job(name, config):

        def fn(env, log):
            extra = []
            if name == 'distilled':
                teacher = last_checkpoint(osp.join(work_dir, 'teacher'))
                extra = [f'model.teacher_ckpt={teacher}']
            return train(
                name,
                config,
                osp.join(work_dir, name),
                options + extra,
                force,
                env,
                log,
                processes=teacher_processes if name == 'teacher' else 1)

        return Job(
            f'{name}_train',
            fn, ('teacher_train', ) if name == 'distilled' else (),
            exclusive=name == 'teacher')

    def test_job(name, config):

        def fn(env, log):
            run_dir = osp.join(work_dir, name)
            run([
                sys.executable, 'tools/test.py', config,
                last_checkpoint(run_dir), '--work-dir',
                osp.join(run_dir, 'test'), '--cfg-options', *options
            ],
                env=env,
                log=log)

        return Job(f'{name}_test', fn, (f'{name}_train', ))

    configs = dict(RUNS)
    order = [('teacher', train_job), ('distilled', train_job),
             ('student', train_job), ('student', test_job),
             ('teacher', test_job), ('distilled', test_job)]
    return [make(name, configs[name]) for name, make in order]


if __name__ == '__main__':
    main()
