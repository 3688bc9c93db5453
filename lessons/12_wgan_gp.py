"""Lesson 12: WGAN-GP: a critic that measures distance, and why it needs second derivatives.

What you will learn:
  1. A Wasserstein critic f must be 1-Lipschitz. Two ways to enforce it, compared on 2-D
     points: *weight clipping* (WGAN: clamp every weight to [-c, c] after each step) and
     the *gradient penalty* (WGAN-GP: lambda E[(||grad f(x_hat)|| - 1)^2] on random points
     x_hat between real and fake samples). Clipping squeezes the critic into a nearly
     flat, nearly linear function with gradient norms far from 1; the penalty gives
     norms close to 1 where it is applied.
  2. Why the penalty needs second derivatives: it is a function of a *gradient*. To train
     the critic we differentiate it with respect to the critic's weights, i.e. we
     differentiate a gradient. ``mc.grad(scores, x_hat, create_graph=True)`` records the
     backward pass as a graph; without ``create_graph`` the gradient is a constant and the
     penalty cannot reach the weights. We check the engine's answer against finite
     differences.
  3. The critic's loss is an estimate of the Wasserstein-1 distance. Between N(0, 1) and
     N(mu, 1) on a line, W1 = |mu|: a trained critic's E f(real) - E f(fake) comes close.
  4. WGAN-GP on digits (the paper's MNIST networks, small width): n_critic = 5 critic steps
     per generator step, and the estimate of W falling as the generator improves; the
     samples checked by the frozen digit classifier (at least 90% legible, Fréchet
     distance <= 60, varied: ``minicnn.lesson.check_gan_samples``, lenient in ``--fast``).

What to look at (in ``lessons/out/``):
  * ``12_clipping_vs_penalty.png``: the two critics' value surfaces over the plane (real
    points in white, fake in red) and the histograms of their gradient norms.
  * ``12_wasserstein_estimate.png``: estimated vs true W1 for four values of mu.
  * ``12_wgan_gp_samples.png`` and ``12_wgan_gp_curves.png``: the digits run.

Time: parts 1-3 take about 2 minutes on a laptop CPU; part 4 (200 generator steps at
width 16, five critic steps each) is the long one (resumable: run the lesson again);
``minicnn train wgan-gp --steps 2000`` trains the full-width model). ``--fast``: seconds.
Run: ``python lessons/12_wgan_gp.py``
"""
import numpy as np

import minicnn as mc
from minicnn import nn, optim, viz
from minicnn.gan.train import load_gan_images, train_gan
from minicnn.gan.wgan_gp import gradient_penalty
from minicnn.lesson import check, check_gan_samples, parse_args, prepare_run
from minicnn.metrics import generator_sampler


def mlp(inputs: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


def input_gradient_norms(critic, points: np.ndarray) -> np.ndarray:
    x = mc.tensor(points.astype(np.float32), requires_grad=True)
    (g,) = mc.grad(critic(x).sum(), x)
    return np.sqrt((g.numpy() ** 2).sum(axis=1))


def train_critic(critic, sample_real, sample_fake, steps, rng, clip=None, gp_weight=10.0,
                 lr=1e-3):
    """Critic-only training: maximise E f(real) - E f(fake), with clipping or the penalty."""
    optimizer = optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9))
    for step in range(steps):
        real, fake = mc.tensor(sample_real(64)), mc.tensor(sample_fake(64))
        loss = critic(fake).mean() - critic(real).mean()
        if clip is None:
            eps = rng.uniform(0, 1, (64, 1)).astype(np.float32)
            # lambda ramps up over the first 100 steps: from a near-constant start the penalty
            # alone would grow |f'| in whichever direction f happens to slope, and on a line
            # a critic sloping the wrong way is stuck (turning round means passing slope 0,
            # where the penalty is lambda); the Wasserstein term picks the direction first.
            ramp = min(1.0, (step + 1) / 100)
            loss = loss + ramp * gp_weight * gradient_penalty(critic, real, fake, eps)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if clip is not None:
            with mc.no_grad():
                for p in critic.parameters():
                    np.clip(p.array, -clip, clip, out=p.array)
    return critic


def main(argv=None):
    args = parse_args(__doc__, argv)
    rng = np.random.default_rng(0)
    mc.manual_seed(0)
    toy_steps = 60 if args.fast else 600

    print("1. Weight clipping vs gradient penalty on 2-D points")
    centres = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 8,
                                                                     endpoint=False)]) * 2

    def sample_real(n):   # 8 Gaussians on a circle of radius 2
        return (centres[rng.integers(0, 8, n)] + 0.05 * rng.standard_normal((n, 2))).astype(np.float32)

    def sample_fake(n):   # a (bad) generator: one blob in the middle
        return (0.5 * rng.standard_normal((n, 2))).astype(np.float32)

    clipped = train_critic(mlp(2, 64), sample_real, sample_fake, toy_steps, rng, clip=0.01)
    penalised = train_critic(mlp(2, 64), sample_real, sample_fake, toy_steps, rng)
    eps = rng.uniform(0, 1, (512, 1))
    between = (eps * sample_real(512) + (1 - eps) * sample_fake(512)).astype(np.float32)
    norms = {"weight clipping (c = 0.01)": input_gradient_norms(clipped, between),
             "gradient penalty (lambda = 10)": input_gradient_norms(penalised, between)}
    for name, values in norms.items():
        print(f"   {name:32s} ||grad f|| on x_hat: median {np.median(values):.4f}, "
              f"10-90% [{np.percentile(values, 10):.4f}, {np.percentile(values, 90):.4f}]")
    _plot_surfaces(args.out / "12_clipping_vs_penalty.png", {"weight clipping": clipped,
                   "gradient penalty": penalised}, norms, sample_real(256), sample_fake(256))
    clip_error = abs(np.median(norms["weight clipping (c = 0.01)"]) - 1)
    gp_error = abs(np.median(norms["gradient penalty (lambda = 10)"]) - 1)
    check(gp_error < clip_error, f"the penalised critic's gradient norms are closer to 1 "
          f"(|median - 1| = {gp_error:.3f} vs {clip_error:.3f} with clipping)")

    print("\n2. The penalty needs second derivatives")
    critic = mlp(2, 8).to(np.float64)
    real = mc.tensor(sample_real(16).astype(np.float64))
    fake = mc.tensor(sample_fake(16).astype(np.float64))
    eps = rng.uniform(0, 1, (16, 1))
    x_hat = mc.tensor(eps * real.numpy() + (1 - eps) * fake.numpy(), requires_grad=True)
    (g_constant,) = mc.grad(critic(x_hat).sum(), x_hat)                    # create_graph=False
    (g_graph,) = mc.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    print(f"   without create_graph the gradient has no creator: {g_constant.creator is None}; "
          f"with it: made by {type(g_graph.creator).__name__}")
    weight = critic[2].weight
    penalty = gradient_penalty(critic, real, fake, eps)
    (analytic,) = mc.grad(penalty, weight)
    h, (i, j) = 1e-6, (3, 5)
    original = weight.array[i, j]
    values = []
    for shift in (h, -h):
        weight.array[i, j] = original + shift
        values.append(gradient_penalty(critic, real, fake, eps).item())
    weight.array[i, j] = original
    numeric = (values[0] - values[1]) / (2 * h)
    print(f"   d penalty / d W[{i},{j}] of the middle layer: engine {analytic.numpy()[i, j]:+.8f}, "
          f"finite differences {numeric:+.8f}")
    check(abs(analytic.numpy()[i, j] - numeric) < 1e-6 * max(1.0, abs(numeric)),
          "the second-order gradient agrees with finite differences")

    print("\n3. The critic estimates the Wasserstein-1 distance: N(0, 1) vs N(mu, 1), W1 = |mu|")
    mus = (0.5, 1.0, 2.0, 3.0)
    estimates = []
    for mu in mus:
        critic = train_critic(mlp(1, 32), lambda n: rng.standard_normal((n, 1)).astype(np.float32),
                              lambda n, m=mu: (m + rng.standard_normal((n, 1))).astype(np.float32),
                              40 if args.fast else 400, rng)
        with mc.no_grad():
            a = critic(mc.tensor(rng.standard_normal((4000, 1)).astype(np.float32))).numpy().mean()
            b = critic(mc.tensor((mu + rng.standard_normal((4000, 1))).astype(np.float32))).numpy().mean()
        estimates.append(float(a - b))
        print(f"   mu = {mu:.1f}: true W1 = {mu:.2f}, critic's estimate {a - b:.3f}")
    viz.plot_curves({"true W1 = |mu|": (np.array(mus), np.array(mus)),
                     "critic: E f(real) - E f(fake)": (np.array(mus), np.array(estimates))},
                    args.out / "12_wasserstein_estimate.png", xlabel="mu",
                    title="a gradient-penalised critic measures W1")
    if not args.fast:
        check(all(abs(e - m) < 0.25 * m for e, m in zip(estimates, mus)),
              "every estimate is within 25% of the true distance (the penalty is a soft "
              "constraint: the critic may be a little steeper than 1)")
    check(estimates[-1] > estimates[0], "a larger shift gives a larger estimate")

    print("\n4. WGAN-GP on MNIST-5k digits (5 critic steps per generator step)")
    images = load_gan_images("mnist5k")
    width, steps = (2, 3) if args.fast else (16, 200)
    if args.fast:
        images = images[:64]
    # fast and full runs keep separate folders; a full run resumes only its own settings
    folder = args.out / ("12_wgan_gp_run_fast" if args.fast else "12_wgan_gp_run")
    config = dict(width=width, batch_size=16 if args.fast else 64)
    resume = prepare_run(folder, "wgan-gp", config, args.fast)
    training = train_gan("wgan-gp", steps, folder, config, resume=resume, images=images,
                         sample_every=100, checkpoint_every=50, progress=not args.fast)
    run = training.run
    viz.save_image_grid(training.samples(), args.out / "12_wgan_gp_samples.png", nrow=8, scale=3)
    viz.plot_curves({"W estimate (E f(real) - E f(fake))": run.curve("wasserstein"),
                     "gradient penalty": run.curve("gp")}, args.out / "12_wgan_gp_curves.png",
                    title="WGAN-GP on digits")
    w = run.curve("wasserstein")[1]
    print(f"   W estimate: {w[0]:.3f} at step 1, max {w.max():.3f}, last {w[-1]:.3f}")
    check(bool(np.all(np.isfinite(w))), "no NaN or inf in the critic's estimates")
    if not args.fast:
        peak = int(np.argmax(w))
        check(w[-20:].mean() < w[peak], "after its peak the W estimate falls: the generator is "
              "closing the distance")
    # the check that can fail: legible, close to real digits (Fréchet <= 60), varied
    check_gan_samples("WGAN-GP samples", generator_sampler(training.recipe, training.parts),
                      args.fast, max_frechet=60)
    print(f"\nPictures: {args.out}/12_clipping_vs_penalty.png, 12_wasserstein_estimate.png, "
          "12_wgan_gp_samples.png, 12_wgan_gp_curves.png")


def _plot_surfaces(path, critics, norms, real, fake):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-3, 3, 80)
    xx, yy = np.meshgrid(grid, grid)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    figure, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for axis, (name, critic) in zip(axes[:2], critics.items()):
        with mc.no_grad():
            values = critic(mc.tensor(points)).numpy().reshape(xx.shape)
        contour = axis.contourf(xx, yy, values, levels=30, cmap="viridis")
        figure.colorbar(contour, ax=axis)
        axis.scatter(real[:, 0], real[:, 1], s=3, c="white")
        axis.scatter(fake[:, 0], fake[:, 1], s=3, c="red")
        axis.set_title(f"critic value: {name}")
    every = np.concatenate(list(norms.values()))
    bins = np.logspace(np.log10(every.min() + 1e-12), np.log10(max(every.max(), 1.5)), 50)
    for name, values in norms.items():
        axes[2].hist(values, bins=bins, alpha=0.6, label=name)
    axes[2].axvline(1.0, color="black", linestyle="--")
    axes[2].set_xscale("log")
    axes[2].set_title("||grad f(x_hat)|| between real and fake")
    axes[2].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


if __name__ == "__main__":
    main()
