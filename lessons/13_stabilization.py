"""Lesson 13: stabilising GAN training: spectral normalisation and historical averaging.

What you will learn:
  1. Why GANs oscillate, on the smallest game there is: min_x max_y x*y. Both players
     follow their gradients at the same time and circle around the equilibrium (0, 0)
     with a growing radius. Historical averaging adds lambda ||theta - mean of past
     theta||^2 to each player's loss: the mean of a circle is its centre, so the pull
     towards it turns the outward spiral into an inward one.
  2. Spectral normalisation divides each layer's weight by its largest singular value
     (found by power iteration, one step per forward). Every layer is then 1-Lipschitz and,
     with 1-Lipschitz activations (LeakyReLU), so is the whole discriminator: its
     gradient with respect to the image has norm at most 1, everywhere. We measure it.
  3. The same DCGAN-28 run, on the same seed, three ways: plain, with spectral
     normalisation on D (``--spectral-norm``) and with historical averaging on both
     players (``--historical-averaging 0.01``): loss curves and samples side by side,
     each variant's samples checked by the frozen digit classifier (at least 90% legible,
     Fréchet distance <= 100, varied; lenient in ``--fast``).

What to look at (in ``lessons/out/``):
  * ``13_bilinear_game.png``: the two trajectories in the (x, y) plane.
  * ``13_side_by_side.png``: one row of samples per variant (plain, spectral norm,
    historical averaging), same latents; ``13_losses.png``: L_D of the three runs and
    ``13_discriminator_gap.png``: D(x) - D(G(z)), how far ahead D is.

Time: about 10 minutes on a laptop CPU (three runs of 250 steps at width 16);
``--fast``: seconds. Run: ``python lessons/13_stabilization.py``
"""
import numpy as np

import minicnn as mc
from minicnn import nn, optim, viz
from minicnn.gan import tricks
from minicnn.gan.dcgan import dcgan28_discriminator
from minicnn.gan.train import load_gan_images, train_gan
from minicnn.lesson import check, check_gan_samples, parse_args, prepare_run
from minicnn.metrics import generator_sampler


class Player(nn.Module):
    """One number a player controls (a Module so the tricks can hold it)."""

    def __init__(self, value):
        super().__init__()
        self.value = nn.Parameter(np.array([value], dtype=np.float64))


def play_bilinear_game(steps: int, lr: float, averaging: float):
    """Simultaneous gradient steps on f(x, y) = x y (x minimises, y maximises)."""
    x, y = Player(1.0), Player(1.0)
    opt_x, opt_y = optim.SGD(x.parameters(), lr=lr), optim.SGD(y.parameters(), lr=lr)
    averages = [tricks.HistoricalAverage(p, averaging) for p in (x, y)] if averaging else []
    path = [(1.0, 1.0)]
    for _ in range(steps):
        value = (x.value * y.value).sum()
        loss_x, loss_y = value, -value                       # each player's own loss
        if averages:
            loss_x = loss_x + averages[0].penalty()
            loss_y = loss_y + averages[1].penalty()
        (g_x,) = mc.grad(loss_x, x.value, retain_graph=True)  # both gradients first:
        (g_y,) = mc.grad(loss_y, y.value)                    # a simultaneous move
        x.value.grad, y.value.grad = g_x, g_y
        opt_x.step()
        opt_y.step()
        for average in averages:
            average.update()
        path.append((x.value.item(), y.value.item()))
    return np.array(path)


def main(argv=None):
    args = parse_args(__doc__, argv)
    mc.manual_seed(0)

    print("1. The bilinear game min_x max_y x*y, simultaneous gradient steps (lr 0.1)")
    steps = 100 if args.fast else 300
    plain = play_bilinear_game(steps, 0.1, 0.0)
    averaged = play_bilinear_game(steps, 0.1, 0.5)
    r_plain, r_avg = np.hypot(*plain[-1]), np.hypot(*averaged[-1])
    print(f"   distance from the equilibrium after {steps} steps: plain {r_plain:.3f}, "
          f"with historical averaging (lambda 0.5) {r_avg:.3f} (start: {np.hypot(1, 1):.3f})")
    _plot_paths(args.out / "13_bilinear_game.png", {"plain gradient steps": plain,
                                                     "historical averaging": averaged})
    check(r_plain > np.hypot(1, 1), "plain simultaneous steps spiral away from (0, 0)")
    check(r_avg < np.hypot(1, 1), "historical averaging spirals in")

    print("\n2. Spectral normalisation bounds the discriminator's gradient")
    images = load_gan_images("mnist5k")
    x = mc.tensor(images[:32], requires_grad=True)
    gradient_norms = {}
    for name, use_sn in (("plain D (no BN)", False), ("spectral norm", True)):
        mc.manual_seed(1)
        D = dcgan28_discriminator(16, batch_norm=False)
        for layer in D:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(layer.weight, 0.0, 0.2)   # large weights: a steep D
        if use_sn:
            tricks.apply_spectral_norm(D)
            for _ in range(20):            # let the power iteration converge
                D(x)
        sigmas = [np.linalg.svd(layer.weight.numpy().reshape(layer.weight.shape[0], -1),
                                compute_uv=False)[0]
                  for layer in D if isinstance(layer, (nn.Conv2d, nn.Linear))]
        (g,) = mc.grad(D(x).sum(), x)
        norms = np.sqrt((g.numpy() ** 2).reshape(32, -1).sum(axis=1))
        gradient_norms[name] = norms
        print(f"   {name:16s} largest singular value per layer "
              f"{', '.join(f'{s:.3f}' for s in sigmas)}; ||dD/dx|| max {norms.max():.3f}")
    check(gradient_norms["spectral norm"].max() <= 1.0 + 1e-3,
          "with spectral norm, ||dD/dx|| <= 1 on every image (D is 1-Lipschitz)")

    width, steps = (4, 4) if args.fast else (16, 250)
    print(f"\n3. DCGAN-28 three ways, same seed (width {width}, {steps} steps each)")
    if args.fast:
        images = images[:64]
    # the paper's DCGAN (batch norm in D, Adam betas (0.5, 0.999)) with one trick at a time;
    # minicnn's own DCGAN-28 default is the spectral-norm variant with Adam(1.2e-3,
    # (0, 0.9)) and an EMA generator
    paper = {"spectral_norm": False, "betas": (0.5, 0.999), "ema": 0.0}
    variants = {"plain": paper, "spectral norm": {**paper, "spectral_norm": True},
                "historical averaging": {**paper, "historical_averaging": 0.01}}
    rows, runs, checked = [], {}, []
    for name, extra in variants.items():
        # fast and full runs keep separate folders; a full run resumes only its own settings
        folder = args.out / (f"13_run_{name.replace(' ', '_')}" + ("_fast" if args.fast else ""))
        config = dict(width=width, batch_size=16 if args.fast else 64, seed=0, **extra)
        training = train_gan("dcgan", steps, folder, config,
                             resume=prepare_run(folder, "dcgan", config, args.fast),
                             images=images,
                             sample_every=max(steps // 2, 1), checkpoint_every=50,
                             progress=not args.fast)
        rows.append(training.samples(training.eval_noise[:8]).numpy())
        runs[name] = training.run
        loss_d = training.run.curve("loss_d")[1]
        gap = training.run.curve("d_real")[1] - training.run.curve("d_fake")[1]
        half = len(loss_d) // 2
        print(f"   {name:22s} L_D last half: mean {loss_d[half:].mean():.3f}, std "
              f"{loss_d[half:].std():.3f}; D(x) - D(G(z)) last half {gap[half:].mean():.3f}")
        check(bool(np.all(np.isfinite(loss_d))), f"{name}: finite losses")
        checked.append((name, generator_sampler(training.recipe, training.parts)))
    viz.save_image_grid(np.concatenate(rows), args.out / "13_side_by_side.png", nrow=8, scale=3)
    viz.plot_curves({name: run.curve("loss_d") for name, run in runs.items()},
                    args.out / "13_losses.png", title="L_D, same seed")
    viz.plot_curves({name: (run.curve("d_real")[0],
                            run.curve("d_real")[1] - run.curve("d_fake")[1])
                     for name, run in runs.items()},
                    args.out / "13_discriminator_gap.png", title="D(x) - D(G(z))")
    # the check that can fail, on every row: legible, Fréchet <= 100, varied (a flat grey
    # or a collapsed row fails it)
    for name, sampler in checked:
        check_gan_samples(f"{name} samples", sampler, args.fast, max_frechet=100)
    print(f"\nPictures: {args.out}/13_bilinear_game.png, 13_side_by_side.png (rows: "
          f"{', '.join(variants)}), 13_losses.png, 13_discriminator_gap.png")


def _plot_paths(path, paths):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 5))
    for name, points in paths.items():
        axis.plot(points[:, 0], points[:, 1], lw=1, label=name)
    axis.plot([0], [0], "k*", markersize=12, label="equilibrium (0, 0)")
    axis.plot([1], [1], "ko", label="start")
    axis.set_xlabel("x (minimises x y)")
    axis.set_ylabel("y (maximises x y)")
    axis.set_aspect("equal")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


if __name__ == "__main__":
    main()
