"""The scheduler of the demo's runs: prerequisites, order, failures."""
import threading

import pytest

from mmkd.demo.jobs import Job, run_jobs


def test_a_job_starts_after_its_prerequisites_beside_the_others(tmp_path):
    events, lock = [], threading.Lock()
    # teacher and student pass only if both are running at the same time
    both = threading.Barrier(2, timeout=20)

    def job(name, meet=False):

        def fn(env, log):
            with lock:
                events.append(('start', name, env['OMP_NUM_THREADS']))
            if meet:
                both.wait()
            with lock:
                events.append(('end', name))
            return name.upper()

        return fn

    jobs = [
        Job('teacher', job('teacher', meet=True)),
        Job('student', job('student', meet=True)),
        Job('distilled', job('distilled'), ('teacher', )),
    ]
    results = run_jobs(jobs, 2, str(tmp_path), prefix='[t]')
    assert results == dict(
        teacher='TEACHER', student='STUDENT', distilled='DISTILLED')
    order = [e[:2] for e in events]
    # the student runs beside the teacher; the distilled run waits for it
    assert order.index(('start', 'student')) < order.index(('end', 'teacher'))
    assert order.index(('end', 'teacher')) < order.index(
        ('start', 'distilled'))
    assert {e[2] for e in events if e[0] == 'start'} == {'1'}


def test_a_failure_blocks_what_needs_it_and_is_named(tmp_path, capsys):
    ran = []

    def ok(name):
        return lambda env, log: ran.append(name)

    def broken(env, log):
        raise SystemExit(f'demo: tools/train.py failed; see {log}')

    jobs = [
        Job('teacher', broken),
        Job('student', ok('student')),
        Job('distilled', ok('distilled'), ('teacher', )),
    ]
    with pytest.raises(SystemExit) as failure:
        run_jobs(jobs, 2, str(tmp_path), prefix='[demo]', keep_going=True)
    log = tmp_path / 'teacher.log'
    assert str(failure.value) == (
        f'demo: teacher: demo: tools/train.py failed; see {log}; '
        'distilled: not run: a prerequisite failed')
    assert ran == ['student']
    assert f'[demo] teacher: started, output in {log}' in capsys.readouterr(
    ).out


def test_one_at_a_time_streams_and_unknown_prerequisites_refused(tmp_path):
    seen = []
    run_jobs([Job('a', lambda env, log: seen.append((env, log)))], 1,
             str(tmp_path))
    assert seen == [(None, None)]
    with pytest.raises(ValueError, match=r"needs unknown jobs \['b'\]"):
        run_jobs([Job('a', lambda env, log: None, ('b', ))], 1, str(tmp_path))


def test_an_exclusive_job_runs_alone_with_every_thread(tmp_path, monkeypatch):
    import time
    monkeypatch.setattr('mmkd.demo.jobs.cpu_count', lambda: 2)
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    events, lock = [], threading.Lock()

    def job(name, seconds=0.0):

        def fn(env, log):
            with lock:
                events.append(('start', name, env['OMP_NUM_THREADS']))
            time.sleep(seconds)
            with lock:
                events.append(('end', name))

        return fn

    jobs = [
        Job('other', job('other', 0.3)),
        Job('teacher', job('teacher'), exclusive=True),
        Job('student', job('student')),
        Job('distilled', job('distilled'), ('teacher', )),
    ]
    run_jobs(jobs, 2, str(tmp_path))
    order = [e[:2] for e in events]
    # the exclusive job waits for 'other', and 'student' (listed after it)
    # waits for the exclusive job
    assert order[:4] == [('start', 'other'), ('end', 'other'),
                         ('start', 'teacher'), ('end', 'teacher')]
    threads = {e[1]: e[2] for e in events if e[0] == 'start'}
    assert threads == dict(other='1', teacher='2', student='1', distilled='1')
