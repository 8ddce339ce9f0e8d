"""Bad annotation files and image folders, as tools/train.py and
tools/test.py see them: one ``error: ...`` line naming the file, the value
and the fix, exit status 1, before the runner starts (nothing written).

Each case edits a copy of the tiny dataset's annotation file (or points the
config elsewhere); see test_bad_input.py for the other classes of bad input
and mmkd/datasets/data_check.py for the checks.
"""
import os.path as osp

import pytest

from .bad_input_helpers import Inputs, check_case, edit_first

pytestmark = pytest.mark.usefixtures('one_thread')
ANN = 'train_dataloader.dataset.ann_file='


def _ann(edit):
    """train.py with the training annotations changed by ``edit``."""
    return lambda i: i.train(ANN + i.annotations(edit))


def _raw(content):
    """train.py with an annotation file holding ``content``."""
    return lambda i: i.train(ANN + i.write('ann.json', content))


def _duplicate(key):

    def edit(data):
        data[key][1]['id'] = data[key][0]['id']

    return edit


def _all_boxes(bbox):

    def edit(data):
        for ann in data['annotations']:
            ann['bbox'] = bbox

    return edit


def _drop(key):
    return lambda data: data.pop(key)


def _split(tool, split, edit):
    """train.py (val) or test.py (test) with ``split``'s annotations changed
    by ``edit(i)(data)``, for the dataset and its evaluator."""

    def make(i):
        path = i.annotations(edit(i), split)
        options = (f'{split}_dataloader.dataset.ann_file={path}',
                   f'{split}_evaluator.ann_file={path}')
        if tool == 'test':
            return i.test(i.ckpts['det'], *options)
        return i.train(*options)

    return make


def _category(category_id):
    """Every annotation of the category ``category_id``."""

    def edit(data):
        for ann in data['annotations']:
            ann['category_id'] = category_id

    return lambda i: edit


def _unreadable(count):
    """The first ``count`` images point at files that are no images (in
    the case's folder, by absolute path)."""

    def edit_in(i):

        def edit(data):
            for k, img in enumerate(data['images'][:count]):
                img['file_name'] = i.write(f'noise{k}.png',
                                           bytes(range(256)) * 4)

        return edit

    return edit_in


SIX = '[disc,ring,plate,notched_plate,hstriped_triangle,vstriped_triangle]'
CLASSES = 'train_dataloader.dataset.metainfo.classes='

# (id, tool, argv from Inputs, what the message says)
CASES = [
    ('data_root wrong', 'train',
     lambda i: i.train('train_dataloader.dataset.data_root=/nowhere/'),
     "annotation file '/nowhere/annotations/instances_train.json' does "
     'not exist; check data_root and ann_file'),
    ('ann_file is a folder', 'train', lambda i: i.train(ANN + str(i.tmp)),
     'is a directory; point ann_file at the .json file'),
    ('empty file', 'train', _raw(''), 'is empty; regenerate it'),
    ('not JSON', 'train', _raw('{"images": ['), 'is not valid JSON'),
    ('a JSON list', 'train', _raw('[]'), 'holds a JSON list'),
    ('no annotations list', 'train', _ann(_drop('annotations')),
     "has no 'annotations' list"),
    ('annotation without a box', 'train',
     _ann(lambda d: d['annotations'][0].pop('bbox')),
     r"annotations\[0\] has no \['bbox'\]"),
    ('box of 3 numbers', 'train',
     _ann(edit_first('annotations', bbox=[1, 2, 3])),
     r'annotations\[0\]\.bbox=\[1, 2, 3\] is not \[x, y, width, height\] '
     r'of finite numbers \(1 such box\(es\)\)'),
    ('NaN coordinate', 'train',
     _ann(edit_first('annotations', bbox=[1, float('nan'), 3, 4])),
     r'annotations\[0\]\.bbox=\[1, nan, 3, 4\] is not .* finite'),
    ('coordinate as text', 'train',
     _ann(edit_first('annotations', bbox=['1', 2, 3, 4])),
     r"bbox=\['1', 2, 3, 4\] is not \[x, y, width, height\]"),
    ('no images', 'train', _ann(lambda d: d.update(images=[], annotations=[])),
     'lists no images'),
    ('duplicate image ids', 'train', _ann(_duplicate('images')),
     r'1 image id\(s\) are used more than once \(\[1\]\); the COCO API '
     'keeps one image per id'),
    ('duplicate annotation ids', 'train', _ann(_duplicate('annotations')),
     r'1 annotation id\(s\) are used more than once'),
    ('duplicate category ids', 'train', _ann(_duplicate('categories')),
     r'1 category id\(s\) are used more than once'),
    ('classes not in the file', 'train',
     lambda i: i.train(CLASSES + '[disc,cat]'),
     r"has no categories \['cat'\] of the config's 2 classes \(it has 6: "
     r"\['disc', 'ring'"),
    ('classes in another order', 'train',
     lambda i: i.train(CLASSES + SIX.replace('disc,ring', 'ring,disc')),
     r"lists the classes in the order \['disc', 'ring', .* labels them in "
     "the file's order"),
    ('classes as one string', 'train', lambda i: i.train(CLASSES + 'disc'),
     r"metainfo.classes='disc': give a tuple of class names"),
    ('image file missing', 'train',
     _ann(edit_first('images', file_name='gone.png')),
     r"1 of the 4 images listed in .* are missing \(e.g. '.*gone.png'\)"),
    ('image folder missing', 'train',
     lambda i: i.train('train_dataloader.dataset.data_prefix.img=nowhere/'),
     "image folder '.*nowhere/' .* does not exist; check data_root and "
     'data_prefix.img'),
    ('image size disagrees', 'train', _ann(edit_first('images', width=100)),
     r"000000.png' is 64 x 64 px but .* says 100 x 64 \(images\[0\]; 1 of "
     '4 sampled images disagree\\)'),
    ('image size not a number', 'train',
     _ann(edit_first('images', width='64')),
     r"image id 1 has width, height = \('64', 64\); give its size"),
    ('no usable box', 'train', _ann(_all_boxes([100, 100, 10, 10])),
     'no image has a usable box of the classes'),
    ('evaluator of another split', 'train',
     lambda i: i.train('val_evaluator.ann_file=' + osp.join(
         i.data, 'annotations', 'instances_test.json')),
     r"val_evaluator.ann_file='.*instances_test.json' does not describe "
     'the images of .*instances_val.json'),
    ('val split without a box of the classes', 'train',
     _split('train', 'val', _category(99)),
     r"annotation file '.*val.json': none of its 8 annotation\(s\) is a box "
     r"of the classes \['disc', .*\] on an image it lists, so the "
     'evaluation would report mAP -1'),
    ('test: test split without a box of the classes', 'test',
     _split('test', 'test', _category(99)),
     r"annotation file '.*test.json': none of its \d+ annotation\(s\) is a "
     'box of the classes .* mAP -1'),
    ('unreadable image in the val split', 'train',
     _split('train', 'val', _unreadable(1)),
     r"1 of the 2 images of '.*val.json' cannot be read as images: "
     r"\['.*noise0.png'\]; the evaluation would stop at the first of them"),
    ('no training image readable', 'train',
     lambda i: i.train(ANN + i.annotations(_unreadable(4)(i))),
     r"none of the 4 sampled images of '.*train.json' can be read as an "
     r"image \(\['.*noise0.png', .*\]\), so training would find nothing"),
    ('test: annotation file missing', 'test',
     lambda i: i.test(i.ckpts['det'], 'test_dataloader.dataset.ann_file=x'),
     "annotation file '.*/x' does not exist"),
    ('test: duplicate image ids', 'test', lambda i: i.test(
        i.ckpts['det'], 'test_dataloader.dataset.ann_file=' + i.annotations(
            _duplicate('images'), 'test')),
     'image id\\(s\\) are used more than once'),
]


@pytest.mark.parametrize(
    'tool, make, expected', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_data_is_one_line(tool, make, expected, tmp_path, tiny_data,
                              tiny_teacher, ckpts, capsys):
    check_case(tool, make, expected, 1,
               Inputs(tmp_path, tiny_data, tiny_teacher, ckpts), capsys)
