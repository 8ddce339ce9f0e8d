"""Convert ILSVRC 2014 DET XML annotations to COCO json (200 classes).

Example::

    python tools/dataset_converters/ilsvrc_det2coco.py \
        data/ILSVRC/Annotations/DET --meta devkit/data/meta_det.mat \
        --image-set data/ILSVRC/ImageSets/DET/val.txt \
        --out data/ILSVRC/annotations/ilsvrc_det_val.json

``file_name`` is relative to ``Data/DET``. See
:mod:`mmkd.datasets.converters.ilsvrc_det`.
"""
import argparse
import logging

from mmkd.datasets.converters.common import write_json
from mmkd.datasets.converters.ilsvrc_det import (check_class_names,
                                                 ilsvrc_det_to_coco,
                                                 list_xml_files, load_meta)
from mmkd.utils.errors import exit_on_user_error
from mmkd.utils.output_paths import check_output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ann_dir', help='e.g. ILSVRC/Annotations/DET')
    parser.add_argument(
        '--meta',
        required=True,
        help='meta_det.mat or a "wnid name" text file')
    parser.add_argument(
        '--image-set',
        help='list of ids relative to ANN_DIR (default: '
        'every XML file under ANN_DIR)')
    parser.add_argument('--out', required=True, help='output json')
    parser.add_argument('--image-ext', default='.JPEG')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with exit_on_user_error():
        check_output(args.out, '--out')
    logging.basicConfig(format='%(levelname)s %(message)s')
    synsets = load_meta(args.meta)
    differences = check_class_names(synsets)
    if differences:
        logging.warning(
            'The meta file differs from configs/_base_/datasets/'
            'ilsvrc_det.py (%s); set metainfo.classes of your dataset '
            'config to the json\'s category names.',
            '; '.join(differences[:5]))
    coco, stats = ilsvrc_det_to_coco(
        args.ann_dir, list_xml_files(args.ann_dir, args.image_set), synsets,
        args.image_ext)
    write_json(coco, args.out)
    print(f'{args.out}: {len(synsets)} classes\n{stats.report()}')


if __name__ == '__main__':
    main()
