"""GANs: DCGAN, WGAN-GP and StyleGAN-lite, the tricks that stabilise them, and the one
training loop they share.

* ``recipe``  the protocol a GAN implements (``GANRecipe``), and the registry ``RECIPES``
* ``dcgan``   DCGAN-28 (digits on a CPU) and DCGAN-64 (the paper's, for GPUs)
* ``wgan_gp`` Wasserstein GAN with gradient penalty (second derivatives at work)
* ``tricks``  spectral normalisation, historical averaging, generator EMA
* ``train``   the loop: progress bar, fixed evaluation noise, grids, CSV, exact resume
* ``commands`` the ``minicnn train dcgan|wgan-gp|stylegan``, ``sample`` and ``eval`` commands

Start with ``minicnn train dcgan --steps 1000`` or ``lessons/11_dcgan.py``.
"""
import importlib

from .recipe import RECIPES, GANParts, GANRecipe, get_recipe, register_recipe

_BUILTIN = ("dcgan", "wgan_gp", "stylegan", "stylegan_recipe")


def _load_builtin_recipes() -> None:
    """Import the modules that register the built-in recipes (lazily, so importing
    ``minicnn.gan`` stays cheap)."""
    for module in _BUILTIN:
        importlib.import_module(f"{__name__}.{module}")


__all__ = ["RECIPES", "GANParts", "GANRecipe", "get_recipe", "register_recipe"]
