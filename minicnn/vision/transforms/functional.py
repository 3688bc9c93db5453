"""``torchvision.transforms.functional`` (``import torchvision.transforms.functional as TF``):
the pixel operations the transform classes are made of, defined in
``minicnn/vision/functional.py`` and reachable under torchvision's module path."""
from ..functional import *  # noqa: F401,F403
from ..functional import __all__  # noqa: F401
