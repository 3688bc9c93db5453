"""``minicnn.vision``: torchvision's shape, for the parts training scripts use.

* ``utils``: ``make_grid``, ``save_image`` (sample grids, as torchvision draws them).
* ``transforms``: ``Compose``, ``ToTensor``, ``Normalize``, ``Resize``, ``CenterCrop``,
  ``RandomCrop``, ``Pad``, random flips, ``Grayscale``, ``Lambda``, ``ToPILImage`` ...
  (``functional`` holds the operations behind them).
* ``datasets``: ``MNIST``, ``FashionMNIST`` (torchvision's files and items), ``MNIST5k``
  (the digits embedded in minicnn), ``FakeData``, ``ImageFolder``.

``python -m minicnn.as_torch script.py`` runs a script's ``import torchvision...`` on
these modules (``torchvision.X`` is ``minicnn.vision.X``). Not here: ``models``, ``ops``,
``io``, most of the colour and affine transforms.
"""
from . import datasets, functional, transforms, utils

__all__ = ["datasets", "functional", "transforms", "utils"]
