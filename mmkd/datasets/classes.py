"""The class names a dataset config trains on, as the distiller (the
teacher's training set against the student's) and the model-zoo pairing
compare them."""
from typing import Optional

from mmengine.registry import DefaultScope


def dataset_classes(dataset: dict) -> Optional[tuple]:
    """Class names of a dataset config (its ``metainfo``, else its type's
    defaults), inside Repeat/Concat wrappers; None when they cannot be
    told. The type may be a name or a class (pure-Python configs)."""
    from mmkd.registry import DATASETS
    while 'dataset' in dataset or 'datasets' in dataset:
        dataset = dataset.get('dataset') or dataset['datasets'][0]
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is None:
        cls = dataset.get('type')
        if isinstance(cls, str):
            with DefaultScope.overwrite_default_scope('mmkd'):
                cls = DATASETS.get(cls)
        classes = getattr(cls, 'METAINFO', {}).get('classes')
    return tuple(classes) if classes else None
