"""Fixtures of the command-line tests."""
import pytest


@pytest.fixture(scope='session')
def ckpts(tmp_path_factory):
    """Training-run-shaped checkpoints (random weights) of the tiny
    detector and distiller, and of the detector trained on other classes."""
    from mmkd.testing import TINY_CONFIG
    from .bad_input_helpers import KD_CONFIG, training_checkpoint
    out = tmp_path_factory.mktemp('ckpts')
    return dict(
        det=training_checkpoint(out / 'det.pth', TINY_CONFIG),
        kd=training_checkpoint(out / 'kd.pth', KD_CONFIG),
        other_classes=training_checkpoint(
            out / 'cats.pth', TINY_CONFIG, classes=('cat', ) * 6))
