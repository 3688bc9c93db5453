"""``minicnn.vision``: torchvision's shape, for the parts training scripts use.

* ``utils``: ``make_grid``, ``save_image`` (sample grids, as torchvision draws them).
* ``transforms``: ``Compose``, ``ToTensor``, ``Normalize``, ``Resize``, ``CenterCrop``,
  ``RandomCrop``, ``Pad``, random flips, ``Grayscale``, ``Lambda``, ``ToPILImage``,
  ``RandomResizedCrop``, ``RandomRotation``, ``RandomAffine``, ``ColorJitter``,
  ``GaussianBlur``, ``RandomErasing`` ... (``functional`` holds the operations behind them).
* ``datasets``: ``MNIST``, ``FashionMNIST``, ``CIFAR10``, ``CIFAR100`` (torchvision's
  files and items), ``MNIST5k`` (the digits embedded in minicnn), ``FakeData``,
  ``ImageFolder``.

``python -m minicnn.as_torch script.py`` runs a script's ``import torchvision...`` on
these modules (``torchvision.X`` is ``minicnn.vision.X``). Not here: ``models``, ``ops``,
``io``, the v2 transforms, AutoAugment and its kin.
"""
from . import datasets, functional, transforms, utils

__all__ = ["datasets", "functional", "transforms", "utils"]
