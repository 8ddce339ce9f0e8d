"""``CocoMetric`` evaluated with ``faster-coco-eval`` (a C++ COCOeval).

Same inputs, same numbers as MMDetection's pycocotools-based ``CocoMetric``
(checked by the tests on the generated dataset), in a fraction of the time:
use ``val_evaluator = dict(type='FastCocoMetric', ...)`` with the same
arguments as ``CocoMetric``. Needs the optional ``faster-coco-eval`` package
(``requirements/optional.txt``, installed by ``tools/setup_env.sh``).
"""
import contextlib

from mmdet.evaluation.metrics import CocoMetric
from mmdet.evaluation.metrics import coco_metric as mmdet_coco_metric

from mmkd.registry import METRICS


def _faster_cocoeval():
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError as exc:
        raise ImportError(
            'FastCocoMetric needs the faster-coco-eval package: pip install '
            'faster-coco-eval (or use type=CocoMetric)') from exc

    class FasterCOCOeval(COCOeval_faster):
        """COCOeval_faster taking pycocotools ``COCO`` objects."""

        def __init__(self, coco_gt, coco_dt, iou_type):
            super().__init__(
                COCO(coco_gt.dataset),
                COCO(coco_dt.dataset),
                iou_type,
                print_function=print)

    return FasterCOCOeval


@METRICS.register_module()
class FastCocoMetric(CocoMetric):
    """MMDetection's ``CocoMetric`` with the C++ evaluator of
    ``faster-coco-eval`` in place of pycocotools' ``COCOeval``."""

    def __init__(self, *args, **kwargs):
        if kwargs.get('use_mp_eval'):
            raise ValueError('FastCocoMetric: use_mp_eval does not apply; '
                             'the C++ evaluator is already fast')
        super().__init__(*args, **kwargs)
        self._evaluator = _faster_cocoeval()

    def compute_metrics(self, results: list) -> dict:
        with self._swap_evaluator():
            return super().compute_metrics(results)

    @contextlib.contextmanager
    def _swap_evaluator(self):
        # CocoMetric.compute_metrics instantiates the module-level name
        # ``COCOeval``; point it at the C++ evaluator for this call only.
        original = mmdet_coco_metric.COCOeval
        mmdet_coco_metric.COCOeval = self._evaluator
        try:
            yield
        finally:
            mmdet_coco_metric.COCOeval = original
