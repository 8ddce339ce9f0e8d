"""Convert KITTI 2D object labels to COCO json (Car / Pedestrian / Cyclist).

Example::

    python tools/dataset_converters/kitti2coco.py data/kitti \
        --out-dir data/kitti/annotations --val-ratio 0.5 --seed 0
    # or the usual 3712 / 3769 split files:
    python tools/dataset_converters/kitti2coco.py data/kitti \
        --split-file train=train.txt --split-file val=val.txt

writes ``kitti_<split>.json`` whose ``file_name`` is relative to
``training/image_2``. See :mod:`mmkd.datasets.converters.kitti`.
"""
import argparse
import logging
import os.path as osp

from mmkd.datasets.converters.common import read_id_list, write_json
from mmkd.datasets.converters.kitti import (KITTI_CLASSES, kitti_to_coco,
                                            list_frame_ids, split_ids)
from mmkd.utils.errors import exit_on_user_error
from mmkd.utils.output_paths import check_output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='KITTI object root (holds training/)')
    parser.add_argument('--label-dir', help='default: ROOT/training/label_2')
    parser.add_argument('--image-dir', help='default: ROOT/training/image_2')
    parser.add_argument('--out-dir', help='default: ROOT/annotations')
    parser.add_argument('--classes', nargs='+', default=list(KITTI_CLASSES))
    parser.add_argument(
        '--val-ratio',
        type=float,
        default=0.5,
        help='share of frames in val (random split)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random split')
    parser.add_argument(
        '--split-file',
        action='append',
        default=[],
        metavar='NAME=PATH',
        help='id list of a split; overrides --val-ratio')
    parser.add_argument('--image-ext', default='.png')
    return parser.parse_args(argv)


def _splits(args, label_dir):
    if not args.split_file:
        return split_ids(list_frame_ids(label_dir), args.val_ratio, args.seed)
    splits = {}
    for item in args.split_file:
        name, sep, path = item.partition('=')
        if not sep:
            raise SystemExit(f'--split-file expects NAME=PATH, got {item!r}')
        splits[name] = read_id_list(path)
    return splits


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format='%(levelname)s %(message)s')
    label_dir = args.label_dir or osp.join(args.root, 'training', 'label_2')
    image_dir = args.image_dir or osp.join(args.root, 'training', 'image_2')
    out_dir = args.out_dir or osp.join(args.root, 'annotations')
    with exit_on_user_error():
        check_output(out_dir, '--out-dir', folder=True)
    outputs, stats = kitti_to_coco(label_dir, image_dir,
                                   _splits(args, label_dir),
                                   tuple(args.classes), args.image_ext)
    for name, coco in outputs.items():
        path = osp.join(out_dir, f'kitti_{name}.json')
        write_json(coco, path)
        print(f'{path}:\n{stats[name].report()}')


if __name__ == '__main__':
    main()
