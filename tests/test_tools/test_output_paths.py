"""Every tool that writes checks its output paths before any work: a path
that cannot be written ends in one ``error: ...`` line naming it, before the
model is built or the inputs are read, and nothing is written
(mmkd/utils/output_paths.py; docs/bad_input.md).

Each case runs a tool's ``main()`` in this process with an output under a
plain file (a path no user, root included, can create); the tools' other
inputs are placeholders that do not exist where the output comes first,
which shows it is checked first.
"""
import os
import os.path as osp

import pytest

from mmkd.testing import ROOT, TINY_CONFIG, data_options, load_tool
from mmkd.utils.errors import ConfigError
from mmkd.utils.output_paths import check_output

TEACHER = osp.join(ROOT, 'tests', 'configs', 'tiny_frcnn_teacher.py')


def _train(t, out):
    return [
        TINY_CONFIG, '--work-dir', out, '--cfg-options', *data_options(t.data)
    ]


def _test(*args):

    def argv(t, out):
        options = [a.format(out=out) for a in args]
        return [
            TINY_CONFIG,
            t.nope('det.pth'), *options, '--cfg-options', *data_options(t.data)
        ]

    return argv


# (id, tool, argv from (case, output path), output name in the message,
# file name of the output)
CASES = [
    ('train --work-dir', 'train', _train, 'work_dir', 'work'),
    ('test --work-dir', 'test', _test('--work-dir',
                                      '{out}'), 'work_dir', 'work'),
    ('test --out', 'test', _test('--out', '{out}'), '--out', 'r.pkl'),
    ('test --show-dir', 'test', _test('--show-dir',
                                      '{out}'), '--show-dir', 'show'),
    ('extract_student OUT', 'model_converters/extract_student',
     lambda t, out: [t.nope('kd.pth'), out], 'OUT', 's.pth'),
    ('pretrained_to_mmkd DST', 'model_converters/pretrained_to_mmkd',
     lambda t, out: [t.nope('src.pth'), out, '--arch', 'vgg16'], 'DST',
     'v.pth'),
    ('tucker_decompose OUT_DIR', 'model_converters/tucker_decompose',
     lambda t, out: [t.nope('c.py'), t.nope('c.pth'), out], 'OUT_DIR',
     'tucker'),
    ('make_kd_config --out', 'misc/make_kd_config',
     lambda t, out: [TEACHER, TINY_CONFIG, '--out', out], '--out', 'kd.py'),
    ('pretrain_trunk --out', 'misc/pretrain_trunk',
     lambda t, out: ['--width', '8', '--out', out], '--out', 'r18w8.pth'),
    ('generate_synthetic --out', 'dataset_converters/generate_synthetic',
     lambda t, out: ['--out', out], '--out', 'data'),
    ('ilsvrc_det2coco --out', 'dataset_converters/ilsvrc_det2coco', lambda t,
     out: [t.nope('DET'), '--meta',
           t.nope('meta.txt'), '--out', out], '--out', 'det.json'),
    ('kitti2coco --out-dir', 'dataset_converters/kitti2coco',
     lambda t, out: [t.nope('kitti'), '--out-dir', out], '--out-dir',
     'annotations'),
    ('analyze_logs --out', 'analysis_tools/analyze_logs', lambda t, out:
     ['plot_curve', t.nope('log.json'), '--out', out], '--out', 'curve.png'),
    ('demo --work-dir', 'demo', lambda t, out: ['--work-dir', out],
     '--work-dir', 'demo'),
    ('demo --data-root', 'demo',
     lambda t, out: ['--work-dir', t.tmp / 'w', '--data-root', out],
     '--data-root', 'data'),
    ('reproduce_ablations --work-dir', 'analysis_tools/reproduce_ablations',
     lambda t, out: ['--work-dir', out], '--work-dir', 'repro'),
]


class _Case:

    def __init__(self, tmp, data):
        self.tmp, self.data = tmp, data

    def nope(self, name):
        """A placeholder input (it does not exist)."""
        return str(self.tmp / 'inputs' / name)


@pytest.mark.usefixtures('one_thread')
@pytest.mark.parametrize(
    'tool, make, what, name', [c[1:] for c in CASES],
    ids=[c[0] for c in CASES])
def test_an_output_that_cannot_be_written_is_refused_first(
        tool, make, what, name, tmp_path, tiny_data, capsys):
    blocker = tmp_path / 'blocker'
    blocker.write_text('a file, not a folder')
    out = str(blocker / name)
    with pytest.raises(SystemExit) as info:
        load_tool(tool).main(
            [str(a) for a in make(_Case(tmp_path, tiny_data), out)])
    message = info.value.code
    assert message == (f'error: {what} {out!r} cannot be written: '
                       f'{str(blocker)!r} is a file, not a directory; give '
                       'another path'), message
    assert os.listdir(tmp_path) == ['blocker']  # nothing written
    assert 'System environment' not in capsys.readouterr().out


def test_a_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    """(os.access is asked, so that the check holds for root too, who may
    write in any folder: here it says no for one folder.)"""
    locked = tmp_path / 'locked'
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(
        os, 'access', lambda path, mode: real(path, mode) and osp.abspath(path)
        != str(locked))
    with pytest.raises(ConfigError) as info:
        check_output(str(locked / 'runs' / 'r.pkl'), '--out')
    assert str(info.value) == (
        f"--out '{locked}/runs/r.pkl' cannot be written: no permission to "
        f"write in '{locked}'; give another path or fix its permissions")
    check_output(str(tmp_path / 'runs' / 'r.pkl'), '--out')  # writable
    with pytest.raises(ConfigError, match='is a directory; give a file'):
        check_output(str(locked), '--out')
    (tmp_path / 'f').write_text('')
    with pytest.raises(ConfigError, match="'.*f' is a file; give a direc"):
        check_output(str(tmp_path / 'f'), '--work-dir', folder=True)
