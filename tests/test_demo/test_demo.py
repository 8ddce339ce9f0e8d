"""The demo's quick mode runs end to end and writes its report.

It asserts the pipeline (three trainings, evaluation, timing, figures and
the report), not the size of the gain: one epoch on 48 images is too short
for that (see the README for the full demo's numbers).
"""
import json
import os.path as osp

import cv2

from mmkd.testing import PYTHON, run_tool


def test_quick_demo_writes_report(tmp_path):
    work_dir = tmp_path / 'demo'
    proc = run_tool([
        PYTHON, 'tools/demo.py', '--quick', '--work-dir',
        str(work_dir), '--data-root',
        str(tmp_path / 'data')
    ],
                    timeout=900)
    report = (work_dir / 'report.md').read_text()
    for row in ('Teacher', 'Student alone', 'Student distilled'):
        assert f'| {row} |' in report
    assert 'Share of the teacher-student gap closed' in report
    # quick mode says what it checks, and prints no undefined number
    assert 'Quick mode checks the pipeline, not the numbers' in report
    assert 'nan' not in report.lower() and 'nan' not in proc.stdout.lower()
    path = work_dir / 'detections.png'
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # ground truth | teacher | student alone | distilled, 4 test images
    figure = cv2.imread(str(work_dir / 'detections.png'))
    assert figure.shape[:2] == (4 * (18 + 3 * 128), 4 * 3 * 128)
    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    assert set(results) == {'teacher', 'student', 'distilled'}
    for name, res in results.items():
        assert 0.0 <= res['mAP'] <= 1.0 and 0.0 <= res['mAP50'] <= 1.0
        assert res['ms'] > 0 and osp.isfile(res['ckpt'])
    # The student is the small model, and distillation keeps it small.
    assert results['student']['params'] == results['distilled']['params']
    # (the half-width student: 0.98M parameters against the teacher's 3.89M)
    assert results['teacher']['params'] > 3.5 * results['student']['params']
    assert 'Student distilled' in proc.stdout
