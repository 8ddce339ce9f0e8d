"""Shared fixtures: a tiny generated dataset."""
import pytest


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """A generated COCO-format dataset: 4 train, 2 val, 2 test images."""
    from mmkd.datasets.synthetic import generate_synthetic_coco
    out = tmp_path_factory.mktemp('synthetic')
    generate_synthetic_coco(
        str(out), num_train=4, num_val=2, num_test=2, img_size=(64, 64),
        seed=0)
    return str(out)
