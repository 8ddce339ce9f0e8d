# ILSVRC 2014 DET (200 classes) from the COCO json written by
# tools/dataset_converters/ilsvrc_det2coco.py; COCO-style bbox AP.
# Train on train (+ val1) and test on val (or val2): choose the json files.
# Everything else as coco_detection.py (shorter side 600, longer side
# <= 1000, Ren et al., NIPS 2015).
_base_ = './coco_detection.py'
data_root = 'data/ILSVRC/'
# The 200 DET class names in DET-id order, as in the devkit's meta_det.mat
# (the converter names categories after it and warns when a meta file
# differs from this list; mmkd.datasets.converters.ILSVRC_DET_CLASSES).
classes = (
    'accordion', 'airplane', 'ant', 'antelope', 'apple', 'armadillo',
    'artichoke', 'axe', 'baby bed', 'backpack', 'bagel', 'balance beam',
    'banana', 'band aid', 'banjo', 'baseball', 'basketball', 'bathing cap',
    'beaker', 'bear', 'bee', 'bell pepper', 'bench', 'bicycle', 'binder',
    'bird', 'bookshelf', 'bow tie', 'bow', 'bowl', 'brassiere', 'burrito',
    'bus', 'butterfly', 'camel', 'can opener', 'car', 'cart', 'cattle',
    'cello', 'centipede', 'chain saw', 'chair', 'chime', 'cocktail shaker',
    'coffee maker', 'computer keyboard', 'computer mouse', 'corkscrew',
    'cream', 'croquet ball', 'crutch', 'cucumber', 'cup or mug', 'diaper',
    'digital clock', 'dishwasher', 'dog', 'domestic cat', 'dragonfly', 'drum',
    'dumbbell', 'electric fan', 'elephant', 'face powder', 'fig',
    'filing cabinet', 'flower pot', 'flute', 'fox', 'french horn', 'frog',
    'frying pan', 'giant panda', 'goldfish', 'golf ball', 'golfcart',
    'guacamole', 'guitar', 'hair dryer', 'hair spray', 'hamburger', 'hammer',
    'hamster', 'harmonica', 'harp', 'hat with a wide brim', 'head cabbage',
    'helmet', 'hippopotamus', 'horizontal bar', 'horse', 'hotdog', 'iPod',
    'isopod', 'jellyfish', 'koala bear', 'ladle', 'ladybug', 'lamp', 'laptop',
    'lemon', 'lion', 'lipstick', 'lizard', 'lobster', 'maillot', 'maraca',
    'microphone', 'microwave', 'milk can', 'miniskirt', 'monkey', 'motorcycle',
    'mushroom', 'nail', 'neck brace', 'oboe', 'orange', 'otter', 'pencil box',
    'pencil sharpener', 'perfume', 'person', 'piano', 'pineapple',
    'ping-pong ball', 'pitcher', 'pizza', 'plastic bag', 'plate rack',
    'pomegranate', 'popsicle', 'porcupine', 'power drill', 'pretzel',
    'printer', 'puck', 'punching bag', 'purse', 'rabbit', 'racket', 'ray',
    'red panda', 'refrigerator', 'remote control', 'rubber eraser',
    'rugby ball', 'ruler', 'salt or pepper shaker', 'saxophone', 'scorpion',
    'screwdriver', 'seal', 'sheep', 'ski', 'skunk', 'snail', 'snake',
    'snowmobile', 'snowplow', 'soap dispenser', 'soccer ball', 'sofa',
    'spatula', 'squirrel', 'starfish', 'stethoscope', 'stove', 'strainer',
    'strawberry', 'stretcher', 'sunglasses', 'swimming trunks', 'swine',
    'syringe', 'table', 'tape player', 'tennis ball', 'tick', 'tie', 'tiger',
    'toaster', 'traffic light', 'train', 'trombone', 'trumpet', 'turtle',
    'tv or monitor', 'unicycle', 'vacuum', 'violin', 'volleyball',
    'waffle iron', 'washer', 'water bottle', 'watercraft', 'whale',
    'wine bottle', 'zebra',
)
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/ilsvrc_det_train.json',
        data_prefix=dict(img='Data/DET/')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/ilsvrc_det_val.json',
        data_prefix=dict(img='Data/DET/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/ilsvrc_det_val.json')
test_evaluator = val_evaluator
