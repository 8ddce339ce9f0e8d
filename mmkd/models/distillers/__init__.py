from .distill_terms import TERM_NAMES
from .two_stage_distiller import TwoStageDistiller

__all__ = ['TwoStageDistiller', 'TERM_NAMES']
