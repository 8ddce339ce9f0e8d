"""Bad checkpoints, work dirs and outputs, as tools/train.py (resuming),
tools/test.py and extract_student.py see them: one ``error: ...`` line
naming the file and the fix, before anything is written (the tables of
docs/bad_input.md; the runner of a case is in bad_input_helpers.py).
"""
import argparse
import os
import os.path as osp

import numpy as np
import pytest
import torch

from mmkd.testing import ROOT, TINY_CONFIG
from .bad_input_helpers import KD_CONFIG, Inputs, check_case, run_main

pytestmark = pytest.mark.usefixtures('one_thread')
BAD_BYTES = np.random.default_rng(0).bytes(4096)  # not a pickle opcode


def _finished_run(i):
    """A work dir holding a finished run's checkpoint."""
    i.copy(i.ckpts['det'], 'work/epoch_1.pth')
    return i.train()


def _older_resume(i):
    for epoch in (1, 2):
        i.copy(i.ckpts['det'], f'work/epoch_{epoch}.pth')
    return i.train(args=['--resume', i.tmp / 'work' / 'epoch_1.pth'])


def _truncated_resume(i):
    i.copy(i.ckpts['det'], 'work/epoch_1.pth')
    i.truncated(i.ckpts['det'], 'work/epoch_2.pth')
    return i.train(args=['--resume'])


def _plain_state_resume(i):
    path = i.tmp / 'weights.pth'
    torch.save({'state_dict': {}}, path)
    return i.train(args=['--resume', path])


def _mistyped_resume(i):
    """--resume into a work dir whose name is one letter off a run's."""
    i.copy(i.ckpts['det'], 'work_r18/epoch_1.pth')
    argv = i.train(args=['--resume'])
    argv[argv.index('--work-dir') + 1] = i.tmp / 'work_r81'
    return argv


def _unsafe(i, name='args.pth'):
    """A checkpoint that also pickles an ``argparse.Namespace`` (as old
    training scripts did): not a type a checkpoint may unpickle."""
    path = i.tmp / name
    torch.save(
        dict(
            state_dict=torch.load(i.ckpts['det'])['state_dict'],
            args=argparse.Namespace(lr=0.02)), path)
    return path


UNSAFE = (r"holds Python objects that are not unpickled \(Unsupported "
          r'global: GLOBAL argparse.Namespace was not an allowed global\): '
          'mmkd loads only tensors, plain containers and the types MMEngine '
          'writes, since unpickling anything else can run code')


def _out_is_a_folder(i):
    os.makedirs(i.tmp / 'd.pkl')
    return i.test(i.ckpts['det'], args=['--out', i.tmp / 'd.pkl'])


def _folder_as_out(i):
    os.makedirs(i.tmp / 's.pth')
    return [i.ckpts['kd'], i.tmp / 's.pth']


def _file_as_work_dir(i):
    i.write('work', 'not a folder')
    return i.train()


# (id, tool, argv from Inputs, what the message says, exit status)
CASES = [
    # --- work dirs and resuming
    ('work dir is a file', 'train', _file_as_work_dir,
     "work_dir '.*work' is a file; give a directory", 1),
    ('work dir holds a run', 'train', _finished_run,
     'holds the checkpoints of an earlier run \\(1: epoch_1.pth\\); '
     'continue that run with --resume, or start a new one in another '
     'directory with --work-dir DIR', 1),
    ('--resume older than the work dir', 'train', _older_resume,
     'would overwrite the newer checkpoints 1: epoch_2.pth', 1),
    ('--resume into a work dir that does not exist', 'train', _mistyped_resume,
     r"--resume: work_dir '.*work_r81' does not exist, so there is no run "
     r"to continue \(did you mean '.*work_r18'\?\); give the run's folder "
     'with --work-dir DIR', 1),
    ('--resume into an empty work dir', 'train',
     lambda i: [os.makedirs(i.work)] and i.train(args=['--resume']),
     r"--resume: work_dir '.*work' holds no checkpoint \(epoch_N.pth / "
     r'iter_N.pth\), so there is no run to continue; .* or drop --resume '
     'to start a new run', 1),
    ('--resume missing', 'train',
     lambda i: i.train(args=['--resume', i.tmp / 'nope.pth']),
     "--resume '.*nope.pth': no such file", 1),
    ('--resume a folder', 'train', lambda i: i.train(args=['--resume', i.tmp]),
     '--resume .* is a directory', 1),
    ('--resume a truncated checkpoint', 'train', _truncated_resume,
     r"epoch_2.pth' cannot be read as a checkpoint .* The previous "
     r"complete checkpoint is '.*epoch_1.pth': resume from it", 1),
    ('--resume not a training checkpoint', 'train', _plain_state_resume,
     "is not a training checkpoint \\(it has no meta, optimizer, "
     'message_hub.*drop --resume and pass --cfg-options load_from=', 1),
    ('--resume another model', 'train',
     lambda i: i.train_kd(args=['--resume', i.ckpts['det']]),
     'does not match the model config: missing in the checkpoint.*'
     '--allow-partial', 1),
    ('load_from missing', 'train',
     lambda i: i.train(f'load_from={i.tmp / "nope.pth"}'),
     "load_from '.*nope.pth': no such file", 1),
    # --- tools/test.py
    ('test: checkpoint missing', 'test', lambda i: i.test(i.tmp / 'nope.pth'),
     "no such file", 1),
    ('test: checkpoint is a folder', 'test', lambda i: i.test(i.tmp),
     'is a directory; give a checkpoint file', 1),
    ('test: checkpoint is not one', 'test',
     lambda i: i.test(i.write('x.pth', BAD_BYTES)),
     r'cannot be read as a checkpoint \(UnpicklingError', 1),
    ('test: checkpoint with an unsafe pickle', 'test',
     lambda i: i.test(_unsafe(i)), UNSAFE, 1),
    ('teacher checkpoint with an unsafe pickle', 'train',
     lambda i: i.train_kd(f'model.teacher_ckpt={_unsafe(i)}'),
     "model.teacher_ckpt '.*args.pth' " + UNSAFE, 1),
    ('--resume an unsafe pickle', 'train',
     lambda i: i.train(args=['--resume', _unsafe(i, 'epoch_1.pth')]),
     "--resume '.*epoch_1.pth' " + UNSAFE, 1),
    ('test: checkpoint truncated', 'test',
     lambda i: i.test(i.truncated(i.ckpts['det'])),
     'failed finding central directory.*is the file complete', 1),
    ('test: detector checkpoint, distillation config', 'test',
     lambda i: i.test(i.ckpts['det'], config=KD_CONFIG),
     'missing in the checkpoint 152.*It is not a distillation '
     'checkpoint', 1),
    ('test: distillation checkpoint, detector config', 'test',
     lambda i: i.test(i.ckpts['kd']),
     'It is a distillation checkpoint: test it with its distillation '
     'config, or extract the student', 1),
    ('test: checkpoint of another architecture', 'test',
     lambda i: i.test(i.teacher), 'shape mismatches .*--allow-partial', 1),
    ('test: checkpoint of other classes', 'test',
     lambda i: i.test(i.ckpts['other_classes']),
     r"was trained on the classes \['cat'", 1),
    ('test: --out not .pkl', 'test',
     lambda i: i.test(i.ckpts['det'], args=['--out', i.tmp / 'r.json']),
     "--out '.*r.json' must be a .pkl file", 1),
    ('test: --out is a folder', 'test', _out_is_a_folder,
     'is a directory; give a file name', 1),
    ('test: work dir is a file', 'test',
     lambda i: [i.write('work', 'not a folder')] and i.test(i.ckpts['det']),
     "work_dir '.*work' is a file; give a directory", 1),
    ('test: --show-dir is a file', 'test', lambda i: i.test(
        i.ckpts['det'], args=['--show-dir', i.write('f', '')]),
     '--show-dir .* is a file', 1),
    # --- extract_student.py
    ('extract: checkpoint missing', 'extract',
     lambda i: [i.tmp / 'nope.pth', i.tmp / 's.pth'], 'no such file', 1),
    ('extract: detector checkpoint', 'extract',
     lambda i: [i.ckpts['det'], i.tmp / 's.pth'],
     'no `student.\\*` weights in this checkpoint', 1),
    ('extract: checkpoint not one', 'extract',
     lambda i: [i.write('x.pth', BAD_BYTES), i.tmp / 's.pth'],
     'cannot be read as a checkpoint', 1),
    ('extract: config of another distiller', 'extract', lambda i: [
        i.ckpts['kd'], i.tmp / 's.pth', '--config',
        osp.join(ROOT, 'configs/kd/frcnn_r18w32_r18w8_synthetic.py')
    ], 'does not match the student config: shape mismatches', 1),
    ('extract: detector config', 'extract',
     lambda i: [i.ckpts['kd'], i.tmp / 's.pth', '--config', TINY_CONFIG],
     'not a TwoStageDistiller.*give the distillation config', 1),
    ('extract: config missing', 'extract',
     lambda i: [i.ckpts['kd'], i.tmp / 's.pth', '--config', 'nope.py'],
     "config file 'nope.py' does not exist", 1),
    ('extract: OUT not .pth', 'extract',
     lambda i: [i.ckpts['kd'], i.tmp / 's.py'], 'must end in .pth', 1),
    ('extract: OUT is a folder', 'extract', _folder_as_out,
     'is a directory; give a file name', 1),
    ('extract: OUT is the input', 'extract',
     lambda i: [i.ckpts['kd'], i.ckpts['kd']], 'is the input checkpoint', 1),
]


@pytest.mark.parametrize(
    'tool, make, expected, status', [c[1:] for c in CASES],
    ids=[c[0] for c in CASES])
def test_bad_checkpoint_is_one_line(tool, make, expected, status, tmp_path,
                                    tiny_data, tiny_teacher, ckpts, capsys):
    check_case(tool, make, expected, status,
               Inputs(tmp_path, tiny_data, tiny_teacher, ckpts), capsys)


def test_an_unsafe_pickle_is_not_called_truncated(tmp_path, tiny_data,
                                                  tiny_teacher, ckpts, capsys):
    """Refused for what it is, and without torch's advice to load it with
    weights_only=False."""
    i = Inputs(tmp_path, tiny_data, tiny_teacher, ckpts)
    code, message, _ = run_main('test', i.test(_unsafe(i)), capsys)
    assert code == 1
    assert 'weights_only' not in message and 'complete' not in message
    assert message.endswith(
        "if you trust the file, save its weights alone (torch.save("
        "{'state_dict': ...}, PATH)) and give that file")
    # bytes that are no pickle at all: not a checkpoint, and no advice
    # either
    code, message, _ = run_main('test', i.test(i.write('x.pth', BAD_BYTES)),
                                capsys)
    assert code == 1 and 'weights_only' not in message
    assert message.endswith('; is the file complete?')
