# yapf: disable
from . import (amp_safe, backbones, distillers, losses, necks,  # noqa
               roi_heads, tucker)

# yapf: enable
