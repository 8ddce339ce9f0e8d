from . import amp_safe, backbones, distillers, losses, necks, tucker  # noqa
