"""ILSVRC 2014 DET XML annotations -> COCO json (200 classes).

The XML files are PASCAL-VOC-like, with WordNet ids as object names::

    <annotation><filename>ILSVRC2014_train_00000001</filename>
      <size><width>500</width><height>375</height></size>
      <object><name>n01443537</name>
        <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>100</xmax>
        <ymax>200</ymax></bndbox></object></annotation>

The class list (order = category ids 1..n) comes from a meta file: the
devkit's ``meta_det.mat`` (``synsets`` with ``*_DET_ID`` / ``WNID`` /
``name``; ids 1..200 are the detection classes, larger ids are hierarchy
nodes and are ignored) or a text file with one class per line, either
``wnid name``, ``det_id wnid name`` or ``wnid det_id name`` (``map_det.txt``).

COCO boxes are ``[xmin, ymin, xmax - xmin, ymax - ymin]`` (MMDetection 3's
convention for ILSVRC / VOC-like coordinates). A file that cannot be parsed
(bad XML, missing ``size`` or ``bndbox`` fields, non-numeric values) is
skipped and counted (``malformed_files``) with its name logged; objects with
an unknown wnid (``unknown_class``) or ``xmax <= xmin`` / ``ymax <= ymin``
(``degenerate_boxes``) are skipped and counted; boxes are clipped to the
image (``clipped``). ``file_name`` is the XML path relative to the
annotation folder with ``.JPEG``, i.e. relative to ``Data/DET``.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .common import (ConversionStats, clip_box, coco_annotation,
                     coco_categories, logger)
from .ilsvrc_det_classes import ILSVRC_DET_CLASSES

Synset = Tuple[str, str]  # (wnid, name)
_NUM_DET_CLASSES = 200  # ILSVRC DET (Russakovsky et al., IJCV 2015).


def load_meta(path: str) -> List[Synset]:
    """The detection classes ``[(wnid, name), ...]`` in category-id order.

    Args:
        path (str): ``meta_det.mat`` or a text file (see module doc).
    """
    if path.endswith('.mat'):
        return _load_meta_mat(path)
    entries = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            tokens = line.split()
            if not tokens:
                continue
            if len(tokens) >= 3 and tokens[0].isdigit():
                det_id, wnid, name = int(tokens[0]), tokens[1], tokens[2:]
            elif len(tokens) >= 3 and tokens[1].isdigit():
                wnid, det_id, name = tokens[0], int(tokens[1]), tokens[2:]
            elif len(tokens) >= 2:
                det_id, wnid, name = len(entries) + 1, tokens[0], tokens[1:]
            else:
                raise ValueError(f'{path}:{lineno}: expected "wnid name", '
                                 f'got {line.strip()!r}.')
            entries.append((det_id, wnid, ' '.join(name)))
    return [(wnid, name) for _, wnid, name in sorted(entries)]


def check_class_names(synsets: Sequence[Synset]) -> List[str]:
    """Differences between the meta's names and ``ILSVRC_DET_CLASSES``.

    Returns:
        list[str]: One message per differing position (empty if equal);
        the dataset config's ``metainfo.classes`` must match the json.
    """
    names = [name for _, name in synsets]
    if len(names) != len(ILSVRC_DET_CLASSES):
        return [
            f'{len(names)} classes instead of '
            f'{len(ILSVRC_DET_CLASSES)}'
        ]
    return [
        f'class {i + 1}: {got!r} instead of {want!r}'
        for i, (got, want) in enumerate(zip(names, ILSVRC_DET_CLASSES))
        if got != want
    ]


def _load_meta_mat(path: str) -> List[Synset]:
    from scipy.io import loadmat
    synsets = loadmat(path, squeeze_me=True)['synsets']
    fields = synsets.dtype.names or ()
    id_fields = [f for f in fields if f.endswith('_DET_ID')]
    if not id_fields or 'WNID' not in fields or 'name' not in fields:
        raise KeyError(f'{path}: synsets need fields *_DET_ID, WNID and '
                       f'name; found {fields}.')
    entries = sorted((int(s[id_fields[0]]), str(s['WNID']), str(s['name']))
                     for s in synsets.reshape(-1)
                     if 1 <= int(s[id_fields[0]]) <= _NUM_DET_CLASSES)
    return [(wnid, name) for _, wnid, name in entries]


def _number(node: ET.Element, tag: str) -> float:
    text = node.findtext(tag)
    if text is None:
        raise ValueError(f'missing <{tag}>')
    return float(text)


def parse_xml(path: str) -> dict:
    """Parse one annotation file.

    Returns:
        dict: ``width``, ``height`` and ``objects`` (``[(wnid, (xmin, ymin,
        xmax, ymax)), ...]``).

    Raises:
        ValueError: With the reason when the file is malformed.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ValueError(f'XML parse error: {e}') from None
    size = root.find('size')
    if size is None:
        raise ValueError('missing <size>')
    width, height = _number(size, 'width'), _number(size, 'height')
    objects = []
    for obj in root.iter('object'):
        box = obj.find('bndbox')
        if box is None or not obj.findtext('name'):
            raise ValueError('object without <name> or <bndbox>')
        objects.append(
            (obj.findtext('name').strip(),
             tuple(_number(box, t) for t in ('xmin', 'ymin', 'xmax', 'ymax'))))
    return dict(width=int(width), height=int(height), objects=objects)


def list_xml_files(ann_dir: str, image_set: Optional[str] = None) -> List[str]:
    """XML paths relative to ``ann_dir``: all (recursive) or an image set.

    Args:
        ann_dir (str): e.g. ``ILSVRC/Annotations/DET``.
        image_set (str, optional): A list file (``ImageSets/DET/*.txt``)
            whose first token per line is a path relative to ``ann_dir``
            without extension.
    """
    if image_set is not None:
        with open(image_set) as f:
            return [line.split()[0] + '.xml' for line in f if line.strip()]
    found = []
    for folder, _, files in os.walk(ann_dir):
        found += [
            osp.relpath(osp.join(folder, name), ann_dir) for name in files
            if name.endswith('.xml')
        ]
    return sorted(found)


def ilsvrc_det_to_coco(
        ann_dir: str,
        xml_files: Iterable[str],
        synsets: Sequence[Synset],
        image_ext: str = '.JPEG') -> Tuple[dict, ConversionStats]:
    """COCO dict of the given annotation files.

    Args:
        ann_dir (str): Folder the ``xml_files`` are relative to.
        xml_files (Iterable[str]): Relative XML paths.
        synsets (Sequence[Synset]): ``[(wnid, name)]`` from
            :func:`load_meta`; category ``i + 1`` is ``synsets[i]``.
        image_ext (str): Extension of ``file_name``. Defaults to ``.JPEG``.

    Returns:
        tuple[dict, ConversionStats]: The COCO dict (category names are the
        class names, e.g. ``'accordion'``) and the counts.
    """
    stats = ConversionStats()
    cat_of: Dict[str, int] = {w: i + 1 for i, (w, _) in enumerate(synsets)}
    coco = dict(
        images=[],
        annotations=[],
        categories=coco_categories([n for _, n in synsets]))
    for index, rel in enumerate(xml_files):
        try:
            info = parse_xml(osp.join(ann_dir, rel))
        except (ValueError, OSError) as e:
            stats['malformed_files'] += 1
            logger.warning('%s: %s; file skipped', rel, e)
            continue
        coco['images'].append(
            dict(
                id=index + 1,
                file_name=osp.splitext(rel)[0] + image_ext,
                width=info['width'],
                height=info['height']))
        stats['images'] += 1
        for wnid, box in info['objects']:
            _add_object(coco, cat_of, wnid, box, index + 1, info, rel, stats)
    return coco, stats


def _add_object(coco: dict, cat_of: Dict[str, int], wnid: str,
                box: Tuple[float, ...], image_id: int, info: dict, rel: str,
                stats: ConversionStats) -> None:
    if wnid not in cat_of:
        stats['unknown_class'] += 1
        logger.warning('%s: unknown wnid %s; object skipped', rel, wnid)
        return
    if box[2] <= box[0] or box[3] <= box[1]:
        stats['degenerate_boxes'] += 1
        logger.warning('%s: degenerate box %s; object skipped', rel, box)
        return
    box, changed = clip_box(box, info['width'], info['height'])
    stats['clipped'] += int(changed)
    if box[2] <= box[0] or box[3] <= box[1]:
        stats['zero_area'] += 1
        return
    coco['annotations'].append(
        coco_annotation(
            len(coco['annotations']) + 1, image_id, cat_of[wnid], box))
    stats['annotations'] += 1
