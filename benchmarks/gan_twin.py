"""The PyTorch twin: the same DCGAN-28 and WGAN-GP built in PyTorch, fed the same initial
weights, the same batches and the same noise as minicnn's, to prove the engine right.

    python benchmarks/gan_twin.py                       # everything, default sizes
    python benchmarks/gan_twin.py --parity              # (a) only: seconds
    python benchmarks/gan_twin.py --quality --steps 300 --seeds 3 --width 16
    python benchmarks/gan_twin.py --timing --width 64 --batch-size 64

Three checks:

(a) **Step parity** (float64). Both models start from minicnn's initial weights (copied
    into PyTorch through ``state_dict``: the key names are PyTorch's for the same module
    tree). Each step, minicnn runs its own recipe's ``train_step`` (the code ``minicnn
    train`` runs) and PyTorch runs the same algorithm written with ``torch``; both draw
    their noise from two ``numpy.random.Generator`` with the same seed, in the same order,
    and get the same real batches. After 5 steps the losses and every parameter and buffer
    must agree within 1e-6 relative (``tests/test_gan_twin.py``).
(b) **Quality parity** (float32). Both train for the same steps from the same start with
    the same data and noise, for several seeds; each generator is scored by the Fréchet
    distance on the frozen minicnn digit classifier's features (``minicnn.metrics``,
    against held-out digits, with the real-vs-real floor). float32 round-off differs
    between the two engines and GAN training is chaotic, so the runs drift apart: the
    question is whether minicnn's scores lie within the twin's spread over seeds.
(c) **Time per step** (float32, DCGAN-28): median wall time of a training step, and the
    ratio minicnn / PyTorch CPU, measured in this process with the same thread count for
    PyTorch, NumPy's BLAS and Numba.

PyTorch is an optional extra: this script needs it, minicnn itself never imports it.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import minicnn as mc
from minicnn.gan.dcgan import DCGAN, DCGAN64
from minicnn.gan.wgan_gp import WGANGP

RECIPES = {"dcgan": DCGAN, "dcgan64": DCGAN64, "wgan-gp": WGANGP}
TWIN_RECIPE = {"dcgan": {"spectral_norm": False, "betas": (0.5, 0.999), "ema": 0.0}}
"""Settings the twin pins where the recipe's default moved on (the PyTorch side is built
with batch norm in D and without spectral norm)."""


# ---------------------------------------------------------------------------------------
# The PyTorch side: the same module trees, so the state_dict keys are the same
# ---------------------------------------------------------------------------------------
def torch_dcgan28(torch, latent_dim: int, width: int):
    """DCGAN-28 (G, D) in PyTorch, layer for layer as ``minicnn.gan.dcgan``."""
    nn, d = torch.nn, width
    generator = nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, 2 * d, 7, 1, 0, bias=False),
        nn.BatchNorm2d(2 * d), nn.ReLU(),
        nn.ConvTranspose2d(2 * d, d, 4, 2, 1, bias=False),
        nn.BatchNorm2d(d), nn.ReLU(),
        nn.ConvTranspose2d(d, 1, 4, 2, 1),
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(1, d, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(2 * d * 7 * 7, 1),
    )
    return generator, discriminator


def torch_dcgan64(torch, latent_dim: int, width: int):
    """DCGAN-64 (G, D) in PyTorch, layer for layer as ``minicnn.gan.dcgan`` (one channel)."""
    nn, d = torch.nn, width

    def up(c_in, c_out, stride=2, padding=1):
        return [nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False),
                nn.BatchNorm2d(c_out), nn.ReLU()]

    def down(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2)]

    generator = nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)), *up(latent_dim, 8 * d, 1, 0), *up(8 * d, 4 * d),
        *up(4 * d, 2 * d), *up(2 * d, d), nn.ConvTranspose2d(d, 1, 4, 2, 1, bias=False),
        nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(1, d, 4, 2, 1, bias=False), nn.LeakyReLU(0.2), *down(d, 2 * d),
        *down(2 * d, 4 * d), *down(4 * d, 8 * d), nn.Conv2d(8 * d, 1, 4, 1, 0, bias=False),
        nn.Flatten())
    return generator, discriminator


def torch_wgan_gp(torch, latent_dim: int, width: int, group_norm: bool = False):
    """WGAN-GP (G, critic) in PyTorch, layer for layer as ``minicnn.gan.wgan_gp``."""
    nn, d = torch.nn, width

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Sequential(nn.Linear(latent_dim, 4 * d * 4 * 4), nn.ReLU(),
                                         nn.Unflatten(1, (4 * d, 4, 4)))
            self.up1 = nn.Sequential(nn.ConvTranspose2d(4 * d, 2 * d, 5, 2, 2,
                                                        output_padding=1), nn.ReLU())
            self.up2 = nn.Sequential(nn.ConvTranspose2d(2 * d, d, 5, 2, 2, output_padding=1),
                                     nn.ReLU())
            self.up3 = nn.Sequential(nn.ConvTranspose2d(d, 1, 5, 2, 2, output_padding=1),
                                     nn.Tanh())

        def forward(self, z):
            return self.up3(self.up2(self.up1(self.project(z))[:, :, :7, :7]))

    def norm(channels):
        return [nn.GroupNorm(1, channels)] if group_norm else []

    critic = nn.Sequential(
        nn.Conv2d(1, d, 5, 2, 2), nn.LeakyReLU(0.2),
        nn.Conv2d(d, 2 * d, 5, 2, 2), *norm(2 * d), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * d, 4 * d, 5, 2, 2), *norm(4 * d), nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(4 * d * 4 * 4, 1),
    )
    return Generator(), critic


def copy_state(torch, source, target) -> None:
    """minicnn module -> PyTorch module, through ``state_dict`` (the keys must match)."""
    state = {name: torch.from_numpy(np.array(value.numpy(), copy=True))
             for name, value in source.state_dict().items()}
    missing = set(target.state_dict()) ^ set(state)
    if missing:
        raise KeyError(f"state_dict keys differ between minicnn and PyTorch: {sorted(missing)}")
    target.load_state_dict(state)


# ---------------------------------------------------------------------------------------
# One pair of twins: minicnn's recipe and the PyTorch re-implementation, kept in lockstep
# ---------------------------------------------------------------------------------------
class Twins:
    """A minicnn GAN (its recipe's parts) and its PyTorch twin with the same weights.

    ``step(real)`` runs one training step on both with the same real batch; each side draws
    its noise from its own ``numpy.random.Generator`` seeded alike, so they draw the same
    numbers as long as both consume them in the same order (the order the recipe's
    docstring states).
    """

    def __init__(self, kind: str, width: int, seed: int, dtype=np.float64, torch=None):
        import torch as torch_module

        self.torch = torch = torch or torch_module
        self.kind, self.dtype = kind, np.dtype(dtype)
        self.torch_dtype = torch.float64 if self.dtype == np.float64 else torch.float32
        self.recipe = RECIPES[kind]()
        # the settings the README's twin table and the step benchmarks were measured at
        # (DCGAN-28's default has since become spectral norm in D, Adam(1.2e-3, (0, 0.9)),
        # EMA 0.99):
        # batch norm in both networks, Adam(2e-4, (0.5, 0.999)); both libraries always run
        # the same settings
        self.config = self.recipe.config(width=width, lr=2e-4, **TWIN_RECIPE.get(kind, {}))
        mc.manual_seed(seed)
        self.parts = self.recipe.build(self.config)        # minicnn's own init
        if self.dtype != np.float32:
            # the recipe draws float32 latents; hand them over in the models' dtype (the
            # same numbers: float32 values are exact in float64)
            draw = self.recipe.noise

            def noise_in_dtype(*args, **kwargs):
                return mc.tensor(draw(*args, **kwargs).numpy().astype(self.dtype))

            self.recipe.noise = noise_in_dtype
        for model in self.parts.models.values():
            model.to(self.dtype)                            # in place: optimizers keep them
        if kind in ("dcgan", "dcgan64"):
            builder = torch_dcgan28 if kind == "dcgan" else torch_dcgan64
            G, D = builder(torch, self.recipe.latent_dim, width)
        else:
            G, D = torch_wgan_gp(torch, self.recipe.latent_dim, width,
                                 bool(self.config.get("group_norm")))
        self.G, self.D = G.to(self.torch_dtype), D.to(self.torch_dtype)
        copy_state(torch, self.parts.generator, self.G)
        copy_state(torch, self.parts.discriminator, self.D)
        betas = tuple(self.config["betas"])
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.config["lr"], betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(),
                                      lr=self.recipe.discriminator_lr(self.config), betas=betas)
        self.mc_rng = np.random.default_rng(seed + 1000)
        self.torch_rng = np.random.default_rng(seed + 1000)
        self.steps = 0

    def batches_per_step(self) -> int:
        return int(self.config.get("n_critic", 1)) if self.kind == "wgan-gp" else 1

    # -- the two sides -------------------------------------------------------------------
    def step_minicnn(self, real: np.ndarray) -> dict:
        losses = self.recipe.train_step(self.parts, mc.tensor(real.astype(self.dtype)),
                                        self.steps, self.mc_rng)
        return {"loss_d": losses["loss_d"], "loss_g": losses["loss_g"]}

    def _noise(self, n: int):
        # the recipe's noise function, so both sides get bit-identical latents
        z = self.recipe.noise(n, self.torch_rng).numpy()
        return self.torch.from_numpy(z).to(self.torch_dtype)

    def step_torch(self, real: np.ndarray) -> dict:
        torch = self.torch
        functional = torch.nn.functional
        real = torch.from_numpy(real).to(self.torch_dtype)
        if self.kind in ("dcgan", "dcgan64"):
            n = real.shape[0]
            ones = torch.ones(n, 1, dtype=self.torch_dtype)
            zeros = torch.zeros(n, 1, dtype=self.torch_dtype)
            fake = self.G(self._noise(n))
            loss_d = (functional.binary_cross_entropy_with_logits(self.D(real), ones)
                      + functional.binary_cross_entropy_with_logits(self.D(fake.detach()), zeros))
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
            loss_g = functional.binary_cross_entropy_with_logits(self.D(fake), ones)
            self.opt_g.zero_grad()
            loss_g.backward()
            self.opt_g.step()
            return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

        n_critic = int(self.config["n_critic"])
        gp_weight = float(self.config["gp_weight"])
        n = real.shape[0] // n_critic
        for k in range(n_critic):
            real_k = real[k * n:(k + 1) * n]
            with torch.no_grad():
                fake = self.G(self._noise(n))
            epsilon = torch.from_numpy(self.torch_rng.uniform(0.0, 1.0, size=(n, 1, 1, 1))
                                       .astype(np.float32)).to(self.torch_dtype)
            score_real = self.D(real_k).mean()
            score_fake = self.D(fake).mean()
            mixed = (epsilon * real_k + (1 - epsilon) * fake).detach().requires_grad_(True)
            (gradients,) = torch.autograd.grad(self.D(mixed).sum(), mixed, create_graph=True)
            norms = (gradients.reshape(n, -1).pow(2).sum(1) + 1e-12).sqrt()
            loss_d = score_fake - score_real + gp_weight * ((norms - 1) ** 2).mean()
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
        loss_g = -self.D(self.G(self._noise(n))).mean()
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    def step(self, real: np.ndarray) -> tuple[dict, dict]:
        mine, theirs = self.step_minicnn(real), self.step_torch(real)
        self.steps += 1
        return mine, theirs

    # -- comparing ---------------------------------------------------------------------
    def state_differences(self) -> dict:
        """name -> max |minicnn - torch| / max |torch| for every parameter and float buffer."""
        differences = {}
        for prefix, mine, theirs in (("G.", self.parts.generator, self.G),
                                     ("D.", self.parts.discriminator, self.D)):
            their_state = theirs.state_dict()
            for name, value in mine.state_dict().items():
                a = np.asarray(value.numpy(), dtype=np.float64)
                b = their_state[name].detach().numpy().astype(np.float64)
                scale = max(np.abs(b).max(), 1e-12)
                differences[prefix + name] = float(np.abs(a - b).max() / scale)
        return differences

    def sample_fns(self):
        """``sample_fn(count, rng)`` for each side, in eval mode, for ``evaluate_generator``."""
        torch = self.torch

        def minicnn_sample(count, rng):
            return self.recipe.sample(self.parts, count, rng).numpy()

        def torch_sample(count, rng):
            z = torch.from_numpy(self.recipe.noise(count, rng).numpy()).to(self.torch_dtype)
            self.G.eval()
            try:
                with torch.no_grad():
                    return self.G(z).numpy()
            finally:
                self.G.train()

        return minicnn_sample, torch_sample


def training_images() -> np.ndarray:
    """MNIST-5k's 4,000 training digits in [-1, 1], float32."""
    return mc.data.load_mnist5k(np.float32, (-1.0, 1.0)).train_images


def batch_stream(images: np.ndarray, batch_size: int, seed: int):
    """Endless random batches, the same for both sides (they receive the same array)."""
    rng = np.random.default_rng(seed)
    while True:
        yield images[rng.choice(len(images), batch_size, replace=False)]


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


# ---------------------------------------------------------------------------------------
# (a) step parity
# ---------------------------------------------------------------------------------------
def step_parity(kind: str, width: int = 4, batch_size: int = 8, steps: int = 5,
                seed: int = 0) -> dict:
    """Train both sides ``steps`` steps in float64; the largest relative differences of the
    losses (over all steps) and of the parameters/buffers (at the end)."""
    twins = Twins(kind, width, seed, dtype=np.float64)
    stream = batch_stream(training_images(), batch_size * twins.batches_per_step(), seed)
    loss_difference, history = 0.0, []
    for _ in range(steps):
        mine, theirs = twins.step(next(stream).astype(np.float64))
        history.append((mine, theirs))
        for key in mine:
            loss_difference = max(loss_difference, relative_difference(mine[key], theirs[key]))
    states = twins.state_differences()
    worst = max(states, key=states.get)
    return {"kind": kind, "steps": steps, "loss_rel": loss_difference,
            "param_rel": states[worst], "worst_tensor": worst, "history": history}


# ---------------------------------------------------------------------------------------
# (b) quality parity
# ---------------------------------------------------------------------------------------
def quality_parity(kind: str, steps: int, seeds: int, width: int, batch_size: int, n: int,
                   log=print) -> dict:
    """Fréchet distance (and friends) of both sides after ``steps`` float32 steps, per seed."""
    from minicnn.metrics import default_extractor, evaluate_generator

    extractor = default_extractor()
    images = training_images()
    scores = {"minicnn": [], "pytorch": [], "floor": [], "minicnn_recall": [],
              "pytorch_recall": []}
    for seed in range(seeds):
        twins = Twins(kind, width, seed, dtype=np.float32)
        stream = batch_stream(images, batch_size * twins.batches_per_step(), seed)
        started = time.perf_counter()
        for _ in range(steps):
            twins.step(next(stream))
        minicnn_sample, torch_sample = twins.sample_fns()
        mine = evaluate_generator(minicnn_sample, n=n, seed=1234, extractor=extractor)
        theirs = evaluate_generator(torch_sample, n=n, seed=1234, extractor=extractor)
        scores["minicnn"].append(mine["frechet_distance"])
        scores["pytorch"].append(theirs["frechet_distance"])
        scores["floor"].append(mine["frechet_floor"])
        scores["minicnn_recall"].append(mine["recall"])
        scores["pytorch_recall"].append(theirs["recall"])
        log(f"  {kind} seed {seed}: {steps} steps in {time.perf_counter() - started:.0f} s; "
            f"Fréchet minicnn {mine['frechet_distance']:.2f}, PyTorch "
            f"{theirs['frechet_distance']:.2f} (floor {mine['frechet_floor']:.2f}); "
            f"classifier score {mine['classifier_score']:.2f} vs "
            f"{theirs['classifier_score']:.2f}")
    return scores


def mean_std(values) -> str:
    values = np.asarray(values, dtype=np.float64)
    return f"{values.mean():.2f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.2f}"


# ---------------------------------------------------------------------------------------
# (c) time per step
# ---------------------------------------------------------------------------------------
def limit_threads(threads: int, torch) -> None:
    """The same number of threads for PyTorch and minicnn (minicnn keeps NumPy's BLAS at
    one thread and runs its own pool: ``mc.set_num_threads``)."""
    torch.set_num_threads(threads)
    mc.set_num_threads(threads)


def time_per_step(kind: str, width: int, batch_size: int, rounds: int, warmup: int = 2) -> dict:
    """Median seconds per float32 training step of each side (rounds interleaved): wall
    time, and CPU time of this process (the fairer figure on a shared, busy machine when
    both sides run one thread: waiting for a core is not counted)."""
    twins = Twins(kind, width, seed=0, dtype=np.float32)
    stream = batch_stream(training_images(), batch_size * twins.batches_per_step(), 0)
    times = {"minicnn": [], "pytorch": [], "minicnn_cpu": [], "pytorch_cpu": []}
    for index in range(warmup + rounds):
        real = next(stream)
        for name, step in (("minicnn", twins.step_minicnn), ("pytorch", twins.step_torch)):
            started, started_cpu = time.perf_counter(), time.process_time()
            step(real)
            if index >= warmup:
                times[name].append(time.perf_counter() - started)
                times[name + "_cpu"].append(time.process_time() - started_cpu)
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["ratio"] = medians["minicnn"] / medians["pytorch"]
    medians["ratio_cpu"] = medians["minicnn_cpu"] / medians["pytorch_cpu"]
    return medians


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parity", action="store_true", help="(a) step parity only")
    parser.add_argument("--quality", action="store_true", help="(b) quality parity only")
    parser.add_argument("--timing", action="store_true", help="(c) time per step only")
    parser.add_argument("--gans", default="dcgan,wgan-gp", help="comma-separated: dcgan,wgan-gp")
    parser.add_argument("--steps", type=int, default=500, help="(b) training steps per seed")
    parser.add_argument("--seeds", type=int, default=3, help="(b) seeds (at least 3)")
    parser.add_argument("--width", type=int, default=64, help="(b, c) model width d")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n", type=int, default=500, help="(b) images per Fréchet distance")
    parser.add_argument("--rounds", type=int, default=10, help="(c) timed steps")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for PyTorch, BLAS and Numba alike (default 1)")
    args = parser.parse_args(argv)
    import torch

    limit_threads(args.threads, torch)
    chosen = [part for part in ("parity", "quality", "timing") if getattr(args, part)]
    chosen = chosen or ["parity", "quality", "timing"]
    gans = [name.strip() for name in args.gans.split(",") if name.strip()]
    print(f"minicnn {mc.__version__} vs PyTorch {torch.__version__} on {platform.machine()} "
          f"{platform.processor() or ''}, {os.cpu_count()} CPUs, {args.threads} thread(s), "
          f"{time.strftime('%Y-%m-%d')}")

    if "parity" in chosen:
        print("\n(a) step parity, float64, width 4, batch 8, 5 steps (target: < 1e-6 relative)")
        print("| GAN | max loss rel. diff | max param rel. diff | worst tensor |")
        print("|---|---|---|---|")
        for kind in gans:
            result = step_parity(kind)
            print(f"| {kind} | {result['loss_rel']:.1e} | {result['param_rel']:.1e} | "
                  f"{result['worst_tensor']} |")

    if "quality" in chosen:
        print(f"\n(b) quality parity, float32, width {args.width}, batch {args.batch_size}, "
              f"{args.steps} steps, {args.seeds} seeds, Fréchet distance at N = {args.n} "
              f"(lower is better)")
        rows = []
        for kind in gans:
            scores = quality_parity(kind, args.steps, args.seeds, args.width, args.batch_size,
                                    args.n)
            rows.append((kind, scores))
        print("| GAN | minicnn | PyTorch twin | real-vs-real floor | recall minicnn | "
              "recall PyTorch |")
        print("|---|---|---|---|---|---|")
        for kind, scores in rows:
            print(f"| {kind} | {mean_std(scores['minicnn'])} | {mean_std(scores['pytorch'])} | "
                  f"{mean_std(scores['floor'])} | {mean_std(scores['minicnn_recall'])} | "
                  f"{mean_std(scores['pytorch_recall'])} |")

    if "timing" in chosen:
        print(f"\n(c) time per training step, float32, width {args.width}, batch "
              f"{args.batch_size}, median of {args.rounds} (target DCGAN-28: <= 1.25x)")
        print("| GAN | minicnn ms (wall) | PyTorch ms (wall) | ratio (wall) | "
              "minicnn ms (CPU) | PyTorch ms (CPU) | ratio (CPU) |")
        print("|---|---|---|---|---|---|---|")
        for kind in gans:
            timing = time_per_step(kind, args.width, args.batch_size, args.rounds)
            print(f"| {kind} | {1e3 * timing['minicnn']:.1f} | {1e3 * timing['pytorch']:.1f} | "
                  f"{timing['ratio']:.2f}x | {1e3 * timing['minicnn_cpu']:.1f} | "
                  f"{1e3 * timing['pytorch_cpu']:.1f} | {timing['ratio_cpu']:.2f}x |")


if __name__ == "__main__":
    main()
