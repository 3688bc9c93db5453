"""Lesson 14: StyleGAN-lite: a mapping network, AdaIN, style mixing and truncation.

What you will learn:
  1. The mapping network: z is not fed to the image layers. PixelNorm puts z on a sphere,
     four fully connected layers (LeakyReLU 0.2) turn it into w, the "style" latent.
  2. AdaIN: instance norm erases each channel's mean and standard deviation, then a style
     (scale, bias) = A(w) writes new ones. We check that after AdaIN every channel's mean
     is the style's bias and its standard deviation the style's scale.
  3. The synthesis network starts from a learned constant 4x4 tensor and grows it to
     32x32; each of its 8 layers reads its own copy of w through its own affine A.
     Because the layers read w separately, we can give the coarse layers (4x4, 8x8) the
     style of one latent and the fine layers (16x16, 32x32) the style of another: style
     mixing. Training mixes on purpose (probability 0.9, random crossover layer), so that
     the layers learn not to rely on sharing one w.
  4. Truncation: w_avg, the running mean of w tracked during training, is the "average
     digit". w' = w_avg + psi (w - w_avg) trades variety (psi = 1) for typicality (psi = 0:
     every latent gives the same, average, picture).

What to look at (in ``lessons/out/``):
  * ``14_style_mixing.png``: top row = source B alone, left column = source A alone; each
    cell = coarse styles (layers 0-3: 4x4 and 8x8) from its row's A and fine styles
    (layers 4-7: 16x16 and 32x32) from its column's B. Along a row the digit (its class,
    size and pose) stays A's; along a column the stroke look (thickness, texture) follows B.
  * ``14_crossover_sweep.png``: one pair (A, B), crossover layer 0..8 from left to right:
    0 = all B, 8 = all A; watch where the digit's identity switches over.
  * ``14_truncation.png``: rows = latents, columns = psi 1, 0.75, 0.5, 0.25, 0: every row
    slides to the same average digit.
  * ``14_samples.png``: 64 samples; the training run's grids and loss curves are in
    ``14_stylegan_run/``. The lesson ends by checking 500 samples with the frozen digit
    classifier (at least 90% legible, Fréchet distance <= 100, varied; lenient in
    ``--fast``, whose pictures are noise).

Time: training is the long part: 1,500 steps of batch 32 at width 32, about 15 minutes
on one core of a 2-core VM (0.6 s a step, measured 2026-11-28) (it resumes from ``14_stylegan_run/checkpoint.ckpt`` if you stop it and
run the lesson again; a finished run is reused and the lesson takes seconds).
``--fast``: tiny widths and a few steps, seconds (the pictures are then noise).
Same training from the command line: ``minicnn train stylegan --steps 1500``.
Run: ``python lessons/14_stylegan_lite.py``
"""
import numpy as np

import minicnn as mc
from minicnn.gan.stylegan import StyleGenerator, adain, pixel_norm
from minicnn.gan.train import load_gan_images, train_gan
from minicnn.lesson import check, check_gan_samples, parse_args, prepare_run
from minicnn.metrics import generator_sampler
from minicnn.viz import save_image_grid

STEPS = 1500
SOURCES = 6                     # style-mixing grid: 6 sources A x 6 sources B
COARSE_LAYERS = 4               # layers 0..3 (4x4, 8x8) from A, 4..7 (16x16, 32x32) from B
PSIS = (1.0, 0.75, 0.5, 0.25, 0.0)


def part_mapping_and_adain(G):
    print("1. The mapping network: z -> PixelNorm -> 4 x (Linear, LeakyReLU(0.2)) -> w")
    print("   " + " -> ".join(type(m).__name__ for m in G.mapping.net))
    z = mc.randn(4, G.z_dim) * 3.0
    rms = np.sqrt((pixel_norm(z).numpy() ** 2).mean(axis=1))
    print(f"   |z| (rms) before PixelNorm: {np.round(np.sqrt((z.numpy() ** 2).mean(1)), 2)}, "
          f"after: {np.round(rms, 4)}")
    check(np.allclose(rms, 1.0, atol=1e-4), "PixelNorm puts every z at unit rms")
    with mc.no_grad():
        w = G.mapping(z)
    print(f"   z {tuple(z.shape)} -> w {tuple(w.shape)}")

    print("\n2. AdaIN(x, scale, bias) = scale * (x - mean) / std + bias, per sample and channel")
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.normal(5.0, 3.0, size=(2, 3, 8, 8)))
    scale = mc.tensor([[0.5, 1.0, 2.0], [3.0, 0.25, 1.5]])
    bias = mc.tensor([[-1.0, 0.0, 1.0], [0.5, 2.0, -2.0]])
    y = adain(x, scale, bias, eps=1e-12).numpy()
    print(f"   input channel means  {np.round(x.numpy().mean(axis=(2, 3))[0], 3)} "
          f"stds {np.round(x.numpy().std(axis=(2, 3))[0], 3)}")
    print(f"   output channel means {np.round(y.mean(axis=(2, 3))[0], 3)} "
          f"stds {np.round(y.std(axis=(2, 3))[0], 3)}  (style bias {bias.numpy()[0]}, "
          f"scale {scale.numpy()[0]})")
    check(np.allclose(y.mean(axis=(2, 3)), bias.numpy(), atol=1e-9)
          and np.allclose(y.std(axis=(2, 3)), scale.numpy(), rtol=1e-9),
          "after AdaIN each channel's mean = the style's bias and std = the style's scale")
    layer = G.synthesis.layers[0]
    print(f"   each layer's style affine A: w ({G.w_dim}) -> (scale, bias) "
          f"({layer.channels} + {layer.channels}); scale's bias starts at 1")


def train(args):
    """Train (or resume, or reuse) the StyleGAN-lite run the rest of the lesson looks at."""
    if args.fast:
        config = {"width": 8, "batch_size": 8, "w_dim": 16, "dataset": "mnist5k"}
        folder, steps = args.out / "14_stylegan_fast_run", 4
        images = load_gan_images("mnist5k", 32)[:64]
    else:
        config = {"dataset": "mnist5k"}             # the recipe's defaults: width 32, batch 32
        folder, steps, images = args.out / "14_stylegan_run", STEPS, None
    # fast mode starts over; a full run resumes only a run of these same settings
    resume = prepare_run(folder, "stylegan", config, args.fast)
    print(f"\n3. Training StyleGAN-lite for {steps} steps into {folder} "
          f"({'resuming' if resume else 'from scratch'}; style mixing probability 0.9)")
    training = train_gan("stylegan", steps, folder, config, resume=resume, images=images,
                         sample_every=100 if not args.fast else steps, progress=not args.fast)
    losses = {name: training.run.curve(name)[1][-1] for name in training.loss_names}
    print(f"   at step {training.step}: " + ", ".join(f"{k} {v:.3f}" for k, v in losses.items()))
    check(all(np.isfinite(v) for v in losses.values()), "the losses are finite")
    return training


def synthesize(G, ws):
    with mc.no_grad():
        return G.synthesis(ws).clamp(-1.0, 1.0).numpy()


def part_mixing(G, args):
    print(f"\n4. Style mixing: coarse layers 0..{COARSE_LAYERS - 1} (4x4, 8x8) from A, "
          f"fine layers {COARSE_LAYERS}..{G.num_layers - 1} (16x16, 32x32) from B")
    rng = np.random.default_rng(7)
    with mc.no_grad():
        w_a = G.mapping(mc.tensor(rng.standard_normal((SOURCES, G.z_dim)).astype(np.float32)))
        w_b = G.mapping(mc.tensor(rng.standard_normal((SOURCES, G.z_dim)).astype(np.float32)))
    pure_a = synthesize(G, G.mix(w_a, w_a, G.num_layers))
    pure_b = synthesize(G, G.mix(w_b, w_b, G.num_layers))
    cells = np.empty((SOURCES, SOURCES) + pure_a.shape[1:], dtype=np.float32)
    for row in range(SOURCES):
        # row i: A_i's w repeated, against every B: one batch per row
        w_row = mc.tensor(np.repeat(w_a.numpy()[row:row + 1], SOURCES, axis=0))
        cells[row] = synthesize(G, G.mix(w_row, w_b, COARSE_LAYERS))
    blank = -np.ones_like(pure_a[:1])
    tiles = [blank, pure_b]
    for row in range(SOURCES):
        tiles += [pure_a[row:row + 1], cells[row]]
    path = args.out / "14_style_mixing.png"
    save_image_grid(np.concatenate(tiles), path, nrow=SOURCES + 1, scale=3)
    print(f"   wrote {path}")

    # How much of each cell comes from A and how much from B? Compare every cell with its
    # own row's A and column's B, against the other rows' A and columns' B (a cell that
    # ignored A would be as far from its own A as from any other A).
    def distance(one, other):
        return float(np.abs(one - other).mean())

    own_a = np.mean([distance(cells[i, j], pure_a[i]) for i in range(SOURCES)
                     for j in range(SOURCES)])
    other_a = np.mean([distance(cells[i, j], pure_a[k]) for i in range(SOURCES)
                       for j in range(SOURCES) for k in range(SOURCES) if k != i])
    own_b = np.mean([distance(cells[i, j], pure_b[j]) for i in range(SOURCES)
                     for j in range(SOURCES)])
    other_b = np.mean([distance(cells[i, j], pure_b[k]) for i in range(SOURCES)
                       for j in range(SOURCES) for k in range(SOURCES) if k != j])
    print(f"   mean |cell - A|: own row's A {own_a:.3f} vs other A's {other_a:.3f};  "
          f"mean |cell - B|: own column's B {own_b:.3f} vs other B's {other_b:.3f}")
    spread_rows = np.mean([cells[i].std(axis=0).mean() for i in range(SOURCES)])
    spread_cols = np.mean([cells[:, j].std(axis=0).mean() for j in range(SOURCES)])
    print(f"   pixel spread along a row (B varies) {spread_rows:.3f}, "
          f"down a column (A varies) {spread_cols:.3f}")
    check(all(style is w_a for style in G.mix(w_a, w_b, COARSE_LAYERS)[:COARSE_LAYERS]),
          "the mixed styles give layers < crossover source A, the rest source B")
    if not args.fast:
        check(own_a < other_a, "each cell looks more like its own row's A than like other A's "
                               "(the coarse styles carry the digit)")
        check(spread_cols > spread_rows, "cells differ more down a column (coarse styles "
                                         "change) than along a row (only fine styles change)")

    sweep = [synthesize(G, G.mix(w_a[:1], w_b[:1], k)) for k in range(G.num_layers + 1)]
    path = args.out / "14_crossover_sweep.png"
    save_image_grid(np.concatenate(sweep), path, nrow=G.num_layers + 1, scale=3)
    print(f"   wrote {path} (crossover 0 = all B ... {G.num_layers} = all A)")


def part_truncation(G, recipe, parts, args):
    print(f"\n5. Truncation: w' = w_avg + psi (w - w_avg), psi in {PSIS}")
    norm = float(np.sqrt((G.w_avg.numpy() ** 2).sum()))
    print(f"   w_avg (tracked during training, saved in the state_dict): |w_avg| = {norm:.3f}")
    z = recipe.noise(5, np.random.default_rng(3), parts)
    columns = [recipe.sample(parts, z, truncation=psi).numpy() for psi in PSIS]
    strip = np.stack(columns, axis=1).reshape((-1,) + columns[0].shape[1:])
    path = args.out / "14_truncation.png"
    save_image_grid(strip, path, nrow=len(PSIS), scale=3)
    print(f"   wrote {path} (rows: latents; columns: psi {PSIS})")
    spread = [float(column.std(axis=0).mean()) for column in columns]
    print("   spread of the 5 samples per psi: " + ", ".join(
        f"{psi}: {s:.3f}" for psi, s in zip(PSIS, spread)))
    check(spread[-1] < 1e-5, "psi = 0 maps every latent to the same picture (w_avg's)")
    if not args.fast:
        check(spread[0] > spread[2] > spread[-1], "variety shrinks as psi goes to 0")


def main(argv=None):
    args = parse_args(__doc__, argv)
    mc.manual_seed(0)
    part_mapping_and_adain(StyleGenerator(z_dim=64, w_dim=64, width=8 if args.fast else 16))
    training = train(args)
    recipe, parts = training.recipe, training.parts
    G = parts.sampling_generator()
    G.set_noise_mode("const")   # the same noise images everywhere: pictures differ by style only
    try:
        part_mixing(G, args)
    finally:
        G.set_noise_mode("random")
    part_truncation(G, recipe, parts, args)
    path = args.out / "14_samples.png"
    save_image_grid(recipe.sample(parts, 64, np.random.default_rng(0)), path, nrow=8, scale=2)
    print(f"\nwrote {path}")
    print("\n6. The samples through the frozen digit classifier (cropped 32 -> 28)")
    check_gan_samples("StyleGAN-lite samples", generator_sampler(recipe, parts), args.fast,
                      max_frechet=100)


if __name__ == "__main__":
    main()
