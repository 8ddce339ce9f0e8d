from . import amp_safe, backbones, distillers, layers, losses, necks  # noqa
