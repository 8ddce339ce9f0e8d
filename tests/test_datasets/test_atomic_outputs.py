"""Files the dataset converters write are written atomically: a failure
while writing leaves the previous file, not half of a new one."""
import json

import pytest

from mmkd.datasets.converters.common import write_json


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'annotations' / 'instances_train.json'
    write_json(dict(images=[dict(id=1)], annotations=[]), str(path))
    before = path.read_bytes()
    # The images serialise, then the last value cannot: a plain
    # json.dump to the open file would have left the first half.
    broken = dict(images=[dict(id=i) for i in range(1000)], bad=object())
    with pytest.raises(TypeError, match='not JSON serializable'):
        write_json(broken, str(path))
    assert path.read_bytes() == before
    assert json.loads(before)['images'] == [dict(id=1)]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
