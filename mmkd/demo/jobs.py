"""Tool runs side by side: the demo's and the reproduction's scheduler.

On a machine with few cores, two trainings of one torch thread each finish
about 1.8 times as many runs per hour as one training with all the threads
(most of a small detector's step is single-threaded work). A job here is a
tool run (or a few, one after the other) with its prerequisites; up to
``workers`` jobs run at once, each with ``OMP_NUM_THREADS = CPUs //
workers`` and its output in its own log, and a job starts as soon as its
prerequisites are done, in the order the jobs are listed.
"""
import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Dict, NamedTuple, Optional, Sequence

from mmkd.utils.cpus import cpu_count


class Job(NamedTuple):
    """``fn(env, log)`` runs the job: ``env`` holds the thread count for
    its tools and ``log`` the file their output goes to (both None when
    jobs run one at a time, with the output on the terminal). An
    ``exclusive`` job starts when no other job runs, nothing starts beside
    it, and its tools get every CPU's thread."""
    name: str
    fn: Callable[[Optional[dict], Optional[str]], object]
    after: Sequence[str] = ()
    exclusive: bool = False


def thread_env(workers: int) -> Optional[dict]:
    """``OMP_NUM_THREADS`` for each of ``workers`` jobs at once (an
    ``OMP_NUM_THREADS`` already set is kept); None for one at a time."""
    if workers == 1:
        return None
    threads = os.environ.get('OMP_NUM_THREADS',
                             str(max(1,
                                     cpu_count() // workers)))
    return dict(OMP_NUM_THREADS=threads)


def run_jobs(jobs: Sequence[Job],
             workers: int,
             log_dir: str,
             *,
             prefix: str = '[jobs]',
             keep_going: bool = False) -> Dict[str, object]:
    """Run ``jobs`` (prerequisites first), ``workers`` at a time.

    Returns ``{name: fn's result}``. A failed job (``SystemExit`` from a
    tool, or any exception) stops jobs that need it; with ``keep_going``
    the others still run, otherwise no new job starts. The failures are
    named together in one ``SystemExit`` at the end. Ctrl-C starts no
    further job (the running tools get the signal themselves).
    """
    names = [job.name for job in jobs]
    for job in jobs:
        missing = [dep for dep in job.after if dep not in names]
        if missing:
            raise ValueError(f'job {job.name} needs unknown jobs {missing}')
    env = thread_env(workers)
    pending, results, failed = list(jobs), {}, {}
    running = {}
    pool = ThreadPoolExecutor(max_workers=workers)

    def start(job):
        log = None if env is None else os.path.join(log_dir, f'{job.name}.log')
        where = f', output in {log}' if log else ''
        print(f'{prefix} {job.name}: started{where}', flush=True)
        began = time.time()
        job_env = env
        if env is not None and job.exclusive:
            job_env = dict(
                env,
                OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS',
                                               str(cpu_count())))

        def call():
            out = job.fn(job_env, log)
            print(
                f'{prefix} {job.name}: done in '
                f'{(time.time() - began) / 60:.1f} min',
                flush=True)
            return out

        running[pool.submit(call)] = job

    try:
        while pending or running:
            blocked = set(failed)
            for job in list(pending):
                if any(dep in blocked for dep in job.after):
                    pending.remove(job)  # a prerequisite failed
                    failed[job.name] = 'not run: a prerequisite failed'
                    blocked.add(job.name)
            stop = failed and not keep_going
            for job in list(pending):
                if stop or len(running) >= workers or any(
                        j.exclusive for j in running.values()):
                    break
                if not all(dep in results for dep in job.after):
                    continue
                if job.exclusive and running:
                    break  # it waits for the others; nothing starts before
                pending.remove(job)
                start(job)
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                try:
                    results[job.name] = future.result()
                except SystemExit as exc:  # the tool and its log, named
                    failed[job.name] = str(exc)
                except Exception as exc:  # noqa: BLE001 - named below
                    failed[job.name] = f'{type(exc).__name__}: {exc}'
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    for job in pending:  # not started after a failure
        failed.setdefault(job.name, 'not run: an earlier job failed')
    if failed:
        raise SystemExit(f'{prefix.strip("[]")}: ' +
                         '; '.join(f'{name}: {why}'
                                   for name, why in failed.items()))
    return results
