# yapf: disable
from mmkd import ops  # noqa: F401 - registers SeparableRoIAlign
from . import (amp_safe, backbones, distillers, losses, necks,  # noqa
               roi_heads, tucker)

# yapf: enable
