"""Shared fixtures: a tiny generated dataset, a tiny teacher, MMEngine's
warnings."""
import logging

import pytest


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """A generated COCO-format dataset: 4 train, 2 val, 2 test images."""
    from mmkd.datasets.synthetic import generate_synthetic_coco
    out = tmp_path_factory.mktemp('synthetic')
    generate_synthetic_coco(
        str(out),
        num_train=4,
        num_val=2,
        num_test=2,
        img_size=(64, 64),
        seed=0)
    return str(out)


@pytest.fixture(scope='session')
def tiny_teacher(tmp_path_factory):
    """A checkpoint of the (random) tiny teacher, tiny_frcnn_teacher.py."""
    from mmkd.testing import write_teacher_checkpoint
    out = tmp_path_factory.mktemp('teacher')
    return write_teacher_checkpoint(str(out / 'teacher.pth'))


@pytest.fixture
def one_thread():
    """torch on one thread during a test, as in the tools' child processes
    (OMP_NUM_THREADS=1): on two shared cores, two threads per process make
    an in-process training run about three times slower."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_log():
    """Messages of the warnings logged through MMEngine's logger."""
    from mmengine.logging import MMLogger
    records = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    yield records.messages
    logger.removeHandler(records)
