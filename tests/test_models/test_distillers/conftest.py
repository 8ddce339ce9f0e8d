"""Every distiller test builds in the ``mmkd`` scope, whatever scope an
earlier test in the session left as MMEngine's current default."""
import pytest
from mmengine.registry import init_default_scope


@pytest.fixture(autouse=True)
def mmkd_scope():
    init_default_scope('mmkd')
