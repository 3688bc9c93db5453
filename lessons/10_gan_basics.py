"""Lesson 10: GAN basics on a 2-D toy: a ring of eight Gaussians, two small MLPs, a game.

What you will learn:
  1. A GAN is two networks playing a game. The discriminator D (a classifier: real = 1,
     fake = 0) learns where the data is; the generator G moves its samples to where D says
     "real". D's output is a logit; both losses are binary cross-entropies:
        L_D = bce(D(x), 1) + bce(D(G(z)), 0)      L_G = bce(D(G(z)), 1)
     (the "non-saturating" generator loss: it gives G strong gradients when D rejects its
     samples confidently, exactly when G needs them).
  2. Training alternates one D step and one G step, and the generator's cloud of samples
     travels towards the eight modes, pushed by the gradient of D.
  3. Mode collapse: if G is trained on its own against a fixed D, it does not learn the data,
     it learns D's favourite point. All its samples gather on one spot and most modes are
     lost. Balanced alternation is what keeps the generator spread over the data.

What to look at: ``lessons/out/10_gan_basics.png``. Top row: the generator's samples
(orange) over training, on top of the real data (blue) and D's belief (background: bright
= "real"). Bottom row: the generator of step 300 trained alone against that step's D,
frozen: it collapses (a red ring marks the spot where the samples gathered).
The printed table counts how many of the 8 modes are covered at each snapshot.

Time: about a minute on a laptop CPU (``--fast``: a few seconds).
Run: ``python lessons/10_gan_basics.py``
"""
import numpy as np

import minicnn as mc
from minicnn import functional as F
from minicnn import nn, optim
from minicnn.lesson import check, parse_args

MODES = 8
RADIUS = 2.0
MODE_STD = 0.05
LATENT = 2
BOX = 3.0      # G's last layer is BOX * tanh: its samples stay inside the drawn square


def mode_centres() -> np.ndarray:
    angles = 2 * np.pi * np.arange(MODES) / MODES
    return RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def real_batch(rng, n: int) -> np.ndarray:
    """n points from the ring: a random mode each, plus Gaussian noise of std MODE_STD."""
    centres = mode_centres()[rng.integers(MODES, size=n)]
    return (centres + MODE_STD * rng.standard_normal((n, 2))).astype(np.float32)


def mlp(sizes, final=None) -> nn.Sequential:
    layers = []
    for index, (width_in, width_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(width_in, width_out))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    if final is not None:
        layers.append(final)
    return nn.Sequential(*layers)


def coverage(points: np.ndarray) -> tuple[int, float]:
    """(modes covered, fraction of good samples): a sample is *good* within 4 std of a centre;
    a mode is *covered* when at least 1/4 of its fair share (1/8) of the samples is there."""
    distances = np.linalg.norm(points[:, None, :] - mode_centres()[None], axis=2)
    nearest, near = distances.argmin(axis=1), distances.min(axis=1) < 4 * MODE_STD
    counts = np.bincount(nearest[near], minlength=MODES)
    return int((counts >= len(points) / MODES / 4).sum()), float(near.mean())


def generate(generator, z) -> mc.Tensor:
    """G's samples: BOX * tanh(MLP(z)), points in the square [-BOX, BOX]^2."""
    return generator(z) * BOX


def samples(generator, z: np.ndarray) -> np.ndarray:
    with mc.no_grad():
        return generate(generator, mc.tensor(z)).numpy()


def belief(discriminator, grid: np.ndarray) -> np.ndarray:
    """D's probability of "real" on a grid of points (for the background)."""
    with mc.no_grad():
        return F.sigmoid(discriminator(mc.tensor(grid))).numpy()[:, 0]


def main(argv=None):
    args = parse_args(__doc__, argv)
    steps = 300 if args.fast else 3000
    collapse_steps = 150 if args.fast else 300
    collapse_from = min(300, steps)   # part 2 starts from G and D as they were here
    batch, hidden = 256, 128
    snapshot_steps = sorted({0, steps // 10, steps // 4, steps // 2, steps})
    rng = np.random.default_rng(0)
    mc.manual_seed(0)

    G = mlp([LATENT, hidden, hidden, 2], final=nn.Tanh())
    D = mlp([2, hidden, hidden, 1])
    opt_g = optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    ones, zeros = mc.ones(batch, 1), mc.zeros(batch, 1)
    fixed_z = rng.standard_normal((1000, LATENT)).astype(np.float32)  # the same z every time
    side = np.linspace(-BOX - 0.3, BOX + 0.3, 80, dtype=np.float32)
    grid = np.stack(np.meshgrid(side, side), axis=-1).reshape(-1, 2)

    print(f"1. The game: G ({LATENT} -> {hidden} -> {hidden} -> 2) against "
          f"D (2 -> {hidden} -> {hidden} -> 1), {steps} alternating steps of {batch}")
    print(f"   {'step':>6} {'loss D':>8} {'loss G':>8} {'D(real)':>8} {'D(fake)':>8} "
          f"{'modes':>6} {'good':>6}")
    snapshots = []
    for step in range(steps + 1):
        if step in snapshot_steps:
            points = samples(G, fixed_z)
            modes, good = coverage(points)
            snapshots.append((f"step {step}", points, belief(D, grid), modes, good))
            if step:
                print(f"   {step:6d} {loss_d.item():8.3f} {loss_g.item():8.3f} "
                      f"{d_real:8.3f} {d_fake:8.3f} {modes:6d} {good:6.1%}")
            else:
                print(f"   {step:6d} {'':8} {'':8} {'':8} {'':8} {modes:6d} {good:6.1%}")
        if step == collapse_from:   # keep copies for part 2 (same in --fast and full runs)
            saved = ({name: value.numpy().copy() for name, value in G.state_dict().items()},
                     {name: value.numpy().copy() for name, value in D.state_dict().items()})
        if step == steps:
            break
        real = mc.tensor(real_batch(rng, batch))
        fake = generate(G, mc.tensor(rng.standard_normal((batch, LATENT)).astype(np.float32)))
        # D step: real -> 1, fake -> 0. fake.detach(): this step must not move G.
        logits_real, logits_fake = D(real), D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(logits_real, ones)
                  + F.binary_cross_entropy_with_logits(logits_fake, zeros))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # G step: make the (just updated) D call the fakes real. Gradients flow through D
        # into G; D's own gradients from this pass are thrown away by its next zero_grad.
        loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        d_real = F.sigmoid(logits_real).mean().item()
        d_fake = F.sigmoid(logits_fake).mean().item()

    start_distance = _mean_distance_to_ring(snapshots[0][1])
    end_distance = _mean_distance_to_ring(snapshots[-1][1])
    print(f"   mean distance of G's samples to the nearest mode: {start_distance:.3f} at step 0, "
          f"{end_distance:.3f} at step {steps}")
    check(end_distance < 0.7 * start_distance, "G's samples moved towards the data (distance "
                                               "to the nearest mode down by 30% or more)")
    balanced_modes = snapshots[-1][3]
    if not args.fast:  # a few hundred steps move the cloud; covering modes takes longer
        check(balanced_modes >= 4,
              f"balanced training spreads G over several modes ({balanced_modes} of {MODES})")

    print(f"\n2. Mode collapse: G and D as they were at step {collapse_from}; D frozen, G "
          f"trained alone for {collapse_steps} steps")
    print("   For a fixed D, the best G puts every sample where D(x) is largest: one spot.")
    print("   (A fresh Adam with a larger step, lr 5e-3, so it happens in a few hundred steps.)")
    G = mlp([LATENT, hidden, hidden, 2], final=nn.Tanh())
    D = mlp([2, hidden, hidden, 1])
    G.load_state_dict(saved[0])
    D.load_state_dict(saved[1])
    for parameter in D.parameters():
        parameter.requires_grad = False   # D is a fixed landscape now; gradients still
                                          # flow through it to G's samples
    opt_g = optim.Adam(G.parameters(), lr=5e-3, betas=(0.5, 0.999))
    start_points = samples(G, fixed_z)
    frozen_belief = belief(D, grid)
    collapse_snapshots = [(f"step {collapse_from}, D frozen", start_points, frozen_belief)
                          + coverage(start_points)]
    collapse_marks = sorted({collapse_steps // 4, collapse_steps // 2, collapse_steps})
    for step in range(1, collapse_steps + 1):
        fake = generate(G, mc.tensor(rng.standard_normal((batch, LATENT)).astype(np.float32)))
        loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step in collapse_marks:
            points = samples(G, fixed_z)
            modes, good = coverage(points)
            collapse_snapshots.append((f"G alone, step {step}", points, frozen_belief,
                                       modes, good))
            print(f"   step {step:4d}: loss G {loss_g.item():.3f}, modes {modes}, "
                  f"spread of samples {_spread(points):.3f}")
    before, after = _spread(start_points), _spread(collapse_snapshots[-1][1])
    print(f"   spread (mean distance between two samples): {before:.3f} -> {after:.3f}")
    centre = collapse_snapshots[-1][1].mean(axis=0)
    print(f"   the samples gathered around ({centre[0]:+.2f}, {centre[1]:+.2f}): D's favourite "
          f"point in the square, which need not even be on the data")
    check(after < before / 4, "against a fixed D the generator's samples gather on one spot "
                              "(spread divided by at least 4): mode collapse")
    check(collapse_snapshots[-1][3] <= 1, "and they cover at most one of the eight modes")

    filename = args.out / "10_gan_basics.png"
    _draw(snapshots, collapse_snapshots, side, filename)
    print(f"\nPicture: {filename}")


def _mean_distance_to_ring(points: np.ndarray) -> float:
    distances = np.linalg.norm(points[:, None, :] - mode_centres()[None], axis=2)
    return float(distances.min(axis=1).mean())


def _spread(points: np.ndarray) -> float:
    """Mean distance between two samples (on the first 300, for speed)."""
    points = points[:300]
    return float(np.linalg.norm(points[:, None] - points[None], axis=2).mean())


def _draw(snapshots, collapse_snapshots, side, filename):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = max(len(snapshots), len(collapse_snapshots))
    figure = Figure(figsize=(2.6 * columns, 6.2))
    FigureCanvasAgg(figure)
    real = real_batch(np.random.default_rng(1), 800)
    for row, shots in enumerate((snapshots, collapse_snapshots)):
        for column, (title, points, beliefs, modes, good) in enumerate(shots):
            axes = figure.add_subplot(2, columns, row * columns + column + 1)
            axes.imshow(beliefs.reshape(len(side), len(side)), origin="lower", cmap="Greys_r",
                        extent=(side[0], side[-1], side[0], side[-1]), vmin=0, vmax=1)
            axes.scatter(real[:, 0], real[:, 1], s=2, color="tab:blue", alpha=0.5)
            axes.scatter(points[:, 0], points[:, 1], s=2, color="tab:orange", alpha=0.6)
            if row == 1 and column > 0:   # a collapsed cloud is one dot: ring it
                centre = points.mean(axis=0)
                axes.scatter([centre[0]], [centre[1]], s=120, facecolors="none",
                             edgecolors="tab:red", linewidths=1.5)
            axes.set_xlim(side[0], side[-1])
            axes.set_ylim(side[0], side[-1])
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_title(f"{title}\n{modes}/{MODES} modes", fontsize=8)
    figure.suptitle("GAN on 8 Gaussians: G's samples (orange), data (blue), D's belief "
                    "(bright = real); bottom: G alone vs a frozen D", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    figure.savefig(filename, dpi=90)


if __name__ == "__main__":
    main()
