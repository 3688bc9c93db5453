"""The small protocol every GAN in ``minicnn.gan`` implements, so one training loop,
one ``train`` command, ``sample`` and ``eval`` serve DCGAN, WGAN-GP and StyleGAN-lite.

A *recipe* knows how to build the two players and their optimizers, how to take one
training step on a batch of real images, and how to draw samples. It does **not** know
about checkpoints, progress bars, CSV logs or PNG grids: ``minicnn.gan.train`` does those,
identically for every recipe. To add a GAN::

    from minicnn.gan.recipe import GANRecipe, GANParts, register_recipe

    @register_recipe
    class MyGAN(GANRecipe):
        name = "my-gan"                 # what `minicnn train my-gan` calls it
        latent_dim = 64
        image_size = 28                 # 32 pads the 28x28 digits by 2 on each side
        defaults = dict(GANRecipe.defaults, width=32, lr=2e-4)

        def build(self, config):
            G, D = MyGenerator(...), MyDiscriminator(...)
            return self.finish_build(config, G, D,
                                     optim.Adam(G.parameters(), lr=config["lr"]),
                                     optim.Adam(D.parameters(), lr=config["lr"]))

        def train_step(self, parts, real, step, rng):
            ...                          # update D, then G; losses as Python floats
            return {"loss_d": ..., "loss_g": ...}

``finish_build`` wires the tricks every recipe gets for free (spectral normalisation on
the discriminator, historical averaging, generator EMA; see ``minicnn.gan.tricks``), and
``penalty(parts, player)`` / ``after_update(parts, player)`` are the two calls a
``train_step`` makes so those tricks take effect.

Conventions:

* Images are (N, C, H, W) float32 Tensors scaled to [-1, 1]; ``sample`` returns the same.
* All randomness of a step goes through ``rng`` (a ``numpy.random.Generator`` the loop
  owns and checkpoints) or minicnn's global generator (also checkpointed). Never
  ``np.random.*``: a resumed run would not repeat it.
* ``train_step`` returns a dict of Python floats (they go to the progress bar and the CSV);
  a loss that is NaN or inf stops the run (the loop checks every value it gets).
* ``step`` is the number of completed training steps before this one (0, 1, 2, ...).
  A "step" is one *generator* update; a recipe may update its discriminator several
  times inside it (WGAN-GP's n_critic = 5).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad, tensor

# name -> recipe class. ``register_recipe`` fills it; ``get_recipe`` reads it.
RECIPES: dict[str, type] = {}


@dataclass
class GANParts:
    """Everything a recipe built: what training changes and what a checkpoint holds.

    models: ``{"generator": G, "discriminator": D}`` plus optional extra modules (e.g.
        ``"generator_ema"``); every entry is saved in checkpoints.
    optimizers: ``{"generator": ..., "discriminator": ...}``.
    extras: other objects with ``state_dict``/``load_state_dict`` that change during
        training and must be checkpointed (historical averages, StyleGAN's tracked mean w).
    tricks: the trick objects in use (``"historical_generator"``, ``"ema"``...), for
        ``penalty``/``after_update``; the stateful ones are in ``extras`` too.
    config: the settings used to build (saved with the checkpoint, so ``sample`` and
        ``eval`` can rebuild the same models).
    split: under ``mpiexec``, the ``minicnn.distributed.BatchSplit`` whose
        ``average_gradients`` runs between each backward and optimizer step; None alone.
    """
    models: dict
    optimizers: dict
    config: dict
    extras: dict = field(default_factory=dict)
    tricks: dict = field(default_factory=dict)
    device: str = "cpu"
    split: object = None

    def to(self, device) -> "GANParts":
        """Move the models (in place, optimizers keep working) and the tricks' state to
        ``device`` ('cpu' or 'cuda'); call it before the first training step."""
        from ..backend import normalize_device

        self.device = normalize_device(device)
        for model in self.models.values():
            model.to(self.device)
        for extra in self.extras.values():
            if hasattr(extra, "to"):
                extra.to(self.device)
        return self

    def tensor(self, array) -> Tensor:
        """A constant Tensor on this run's device from a NumPy array (noise, labels)."""
        value = tensor(array)
        return value if self.device == "cpu" else value.to(self.device)

    def check_finite(self, name: str, value) -> None:
        """Called by recipes on each loss *before* the update it drives; the training loop
        replaces it with ``TrainingRun.check_finite`` (NaN guard). Default: no check."""

    @property
    def generator(self) -> nn.Module:
        return self.models["generator"]

    @property
    def discriminator(self) -> nn.Module:
        return self.models["discriminator"]

    def sampling_generator(self) -> nn.Module:
        """The generator to draw pictures with: the EMA copy when there is one."""
        return self.models.get("generator_ema", self.models["generator"])


class GANRecipe:
    """Base class of a GAN recipe; subclasses set ``name`` and implement ``build`` and
    ``train_step`` (``sample`` and ``noise`` have defaults that suit most GANs)."""

    name: str = ""
    latent_dim: int = 100
    image_size: int = 28            # 32: the loop pads the 28x28 digits with -1 (black)
    # Under mpiexec each rank computes a slice of every batch: right for losses that are
    # means over samples; a recipe with a statistic over the whole batch says why not.
    splits_batches: bool = True
    splits_batches_not_why: str = ""
    channels: int = 1
    # settings every recipe understands (the command line fills them); subclasses extend
    # ``lr`` is the generator's learning rate and, while ``lr_d`` is None, the
    # discriminator's too; a number in ``lr_d`` gives D its own (TTUR, Heusel et al. 2017:
    # two time-scale updates, usually a faster D)
    defaults: dict = {
        "width": 64, "batch_size": 64, "lr": 2e-4, "lr_d": None, "betas": (0.5, 0.999),
        "spectral_norm": False, "historical_averaging": 0.0, "ema": 0.0,
    }

    def config(self, **overrides) -> dict:
        """``defaults`` updated with the given settings (None values are ignored, so an
        unset command-line flag keeps the recipe's default)."""
        config = dict(self.defaults)
        unknown = set(overrides) - set(config) - {"seed", "dataset", "steps", "recipe"}
        if unknown:
            raise ValueError(f"{self.name}: unknown settings {sorted(unknown)}; this recipe "
                             f"knows {sorted(config)}")
        config.update({key: value for key, value in overrides.items() if value is not None})
        config["recipe"] = self.name
        return config

    # -- the protocol --------------------------------------------------------------------
    def build(self, config: dict) -> GANParts:
        """Make the models and optimizers (initialised from minicnn's global generator:
        seed it first with ``mc.manual_seed``)."""
        raise NotImplementedError

    def train_step(self, parts: GANParts, real: Tensor, step: int,
                   rng: np.random.Generator) -> dict:
        """One training step on a batch of real images (N, C, H, W) in [-1, 1]; returns
        ``{loss name: float}``."""
        raise NotImplementedError

    def batches_per_step(self, config: dict) -> int:
        """How many real batches one ``train_step`` consumes; the loop stacks them along
        the batch dimension (WGAN-GP: n_critic, one per critic update)."""
        return 1

    def noise(self, n: int, rng: np.random.Generator, parts: GANParts | None = None) -> Tensor:
        """Latent vectors z ~ N(0, I), shape (n, latent_dim), float32 (drawn on the CPU from
        ``rng``, so CPU and GPU runs see the same numbers; on ``parts.device``)."""
        array = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return parts.tensor(array) if parts is not None else tensor(array)

    def sample(self, parts: GANParts, noise_or_n, rng: np.random.Generator | None = None,
               **options) -> Tensor:
        """Images in [-1, 1] from given latents (a Tensor/array (n, latent_dim)) or from
        ``n`` fresh ones drawn from ``rng``. Runs the generator in eval mode without a
        graph and puts it back in the mode it was in. Options (e.g. ``truncation``) are
        for recipes that understand them; others refuse them."""
        if options:
            raise TypeError(f"{self.name}: sample() takes no options {sorted(options)}")
        generator = parts.sampling_generator()
        if isinstance(noise_or_n, (int, np.integer)):
            noise_or_n = self.noise(int(noise_or_n), rng or np.random.default_rng(0), parts)
        z = noise_or_n if isinstance(noise_or_n, Tensor) else parts.tensor(
            np.asarray(noise_or_n, dtype=np.float32))
        if z.device != parts.device:
            z = z.to(parts.device)
        was_training = generator.training
        generator.eval()
        try:
            with no_grad():
                return generator(z)
        finally:
            generator.train(was_training)

    # -- shared wiring of the tricks -------------------------------------------------------
    def finish_with_adam(self, config: dict, generator: nn.Module,
                         discriminator: nn.Module) -> GANParts:
        """The usual ``build`` ending: spectral norm on the discriminator when asked (before
        its optimizer exists), one Adam per player (G: ``lr``, D: ``discriminator_lr``; both
        with ``betas``), then ``finish_build``."""
        from . import tricks
        from .. import optim

        if config.get("spectral_norm"):
            tricks.apply_spectral_norm(discriminator)
        betas = tuple(config["betas"])
        return self.finish_build(
            config, generator, discriminator,
            optim.Adam(generator.parameters(), lr=config["lr"], betas=betas),
            optim.Adam(discriminator.parameters(), lr=self.discriminator_lr(config),
                       betas=betas),
            spectral_norm_applied=bool(config.get("spectral_norm")))

    @staticmethod
    def discriminator_lr(config: dict) -> float:
        """D's learning rate: ``lr_d`` when set (TTUR), else the shared ``lr``."""
        lr_d = config.get("lr_d")
        return float(config["lr"] if lr_d is None else lr_d)

    def finish_build(self, config: dict, generator: nn.Module, discriminator: nn.Module,
                     generator_optimizer, discriminator_optimizer,
                     spectral_norm_applied: bool = False) -> GANParts:
        """Wrap up ``build``: apply the tricks asked for in ``config`` and return the parts.

        ``spectral_norm`` wraps every Conv2d/Linear of the discriminator, unless the recipe
        already did (``spectral_norm_applied``; it must then do it *before* making the
        discriminator's optimizer, because spectral norm renames ``weight`` to
        ``weight_orig``). Here the discriminator optimizer is made by the caller, so we
        apply it only when asked and refuse the wrong order.
        """
        from . import tricks

        if config.get("spectral_norm") and not spectral_norm_applied:
            raise ValueError(f"{self.name}: call tricks.apply_spectral_norm(D) before making "
                             "D's optimizer and pass spectral_norm_applied=True")
        models = {"generator": generator, "discriminator": discriminator}
        parts = GANParts(models=models, config=dict(config),
                         optimizers={"generator": generator_optimizer,
                                     "discriminator": discriminator_optimizer})
        weight = float(config.get("historical_averaging") or 0.0)
        if weight > 0:
            for player in ("generator", "discriminator"):
                average = tricks.HistoricalAverage(models[player], weight)
                parts.tricks["historical_" + player] = average
                parts.extras["historical_" + player] = average
        decay = float(config.get("ema") or 0.0)
        if decay > 0:
            ema = tricks.GeneratorEMA(generator, decay)
            parts.models["generator_ema"] = ema.average
            parts.tricks["ema"] = ema
        return parts

    @staticmethod
    def penalty(parts: GANParts, player: str):
        """The trick penalties to add to ``player``'s loss ("generator" or
        "discriminator"): historical averaging's lambda ||theta - mean past theta||^2,
        or 0.0 when off."""
        average = parts.tricks.get("historical_" + player)
        return average.penalty() if average is not None else 0.0

    @staticmethod
    def after_update(parts: GANParts, player: str) -> None:
        """Call right after ``player``'s optimizer step: updates the running mean of its
        past parameters and, for the generator, the EMA copy."""
        average = parts.tricks.get("historical_" + player)
        if average is not None:
            average.update()
        if player == "generator" and "ema" in parts.tricks:
            parts.tricks["ema"].update()

    def update(self, parts: GANParts, player: str, loss, extra=None) -> None:
        """One optimizer step of ``player``: minimise ``loss`` plus the tricks' penalty
        (plus ``extra``, e.g. StyleGAN's R1), then ``after_update``. Check the loss with
        ``parts.check_finite`` first: a NaN must stop the run before any update."""
        total = loss + self.penalty(parts, player)
        if extra is not None:
            total = total + extra
        optimizer = parts.optimizers[player]
        optimizer.zero_grad()
        total.backward()
        if parts.split is not None:   # data parallel: the global batch's gradient
            parts.split.average_gradients(p for g in optimizer.param_groups for p in g["params"])
        optimizer.step()
        self.after_update(parts, player)


def register_recipe(recipe_class: type) -> type:
    """Class decorator: make a recipe known to ``minicnn train <name>``."""
    if not recipe_class.name:
        raise ValueError(f"{recipe_class.__name__}: a recipe needs a name")
    RECIPES[recipe_class.name] = recipe_class
    return recipe_class


def get_recipe(name: str) -> GANRecipe:
    """An instance of the recipe called ``name`` (importing the built-in ones first)."""
    from . import _load_builtin_recipes
    _load_builtin_recipes()
    if name not in RECIPES:
        raise ValueError(f"unknown GAN {name!r}; known: {sorted(RECIPES)}")
    return RECIPES[name]()
