"""Lesson 11: DCGAN, a convolutional GAN that draws digits.

What you will learn:
  1. The two networks of DCGAN-28, layer by layer: the generator grows a 100-number
     latent z into a 28x28 image with transposed convolutions (1 -> 7 -> 14 -> 28 pixels);
     the discriminator shrinks an image to one logit with strided convolutions, each
     spectrally normalised (lesson 13 explains why that keeps D in check).
  2. Why the generator's loss is the "non-saturating" -log D(G(z)) and not the minimax
     log(1 - D(G(z))): at the start D rejects fakes confidently, and there the minimax
     loss has almost no gradient. We measure both gradients with the engine.
  3. The game in numbers: D's belief that real images are real (D(x)) and that fakes are
     real (D(G(z))), step by step; a GAN's losses do not go to 0, they balance.
  4. How the samples evolve: the same fixed latents, drawn every few steps, turn from
     noise into blobs into strokes into digits.
  5. How the lesson knows they are digits: the frozen digit classifier labels at least 90%
     of 500 samples with confidence >= 0.9, their Fréchet distance is small and they are
     varied (``minicnn.lesson.check_gan_samples``: it fails on noise and on a collapsed
     grid; ``--fast`` only computes and prints the figures, its pictures are noise).

What to look at (in ``lessons/out/``):
  * ``11_progress.png``: one row per checkpoint of training, the same 8 latents each row.
  * ``11_samples.png``: 64 samples at the end; ``11_losses.png``: L_D, L_G, D(x), D(G(z)).
  * ``11_dcgan_run/``: the run itself (checkpoint, CSV, grids; ``--fast`` keeps its own
    ``11_dcgan_run_fast/``, so a full run never picks up a fast one); run the lesson again to
    continue it, or ``minicnn train dcgan --out lessons/out/11_dcgan_run --resume``.

Time: about 3 minutes on a 2-core CPU (3,000 steps of batch 64 at width 32: the README's
main job; 2.5 minutes measured for the whole lesson), more on a busy machine; stop it any
time and run it again: it resumes.
``--fast``: a few seconds (tiny networks, a handful of steps: the pictures are noise).
Same training from the command line: ``minicnn train dcgan --width 32 --steps 3000``.
Run: ``python lessons/11_dcgan.py``
"""
import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn import viz
from minicnn.gan.dcgan import dcgan28_discriminator, dcgan28_generator
from minicnn.gan.train import load_gan_images, train_gan
from minicnn.gan.tricks import apply_spectral_norm
from minicnn.lesson import check, check_gan_samples, parse_args, prepare_run
from minicnn.metrics import generator_sampler
from minicnn.training import read_checkpoint


def main(argv=None):
    args = parse_args(__doc__, argv)
    width, steps, every = (4, 6, 2) if args.fast else (32, 3000, 300)

    print("1. DCGAN-28, layer by layer (width d = 64, as `minicnn train dcgan` builds it:")
    print("   spectral norm on every layer of D, so no batch norm there)")
    mc.manual_seed(0)
    G, D = dcgan28_generator(100, 64), dcgan28_discriminator(64, batch_norm=False)
    apply_spectral_norm(D)
    x = mc.randn(2, 100)
    for layer in G:
        x = layer(x)
        print(f"   G  {type(layer).__name__:16s} -> {tuple(x.shape)}")
    for layer in D:
        x = layer(x)
        print(f"   D  {type(layer).__name__:16s} -> {tuple(x.shape)}")
    count = sum(p.numpy().size for p in G.parameters()), sum(p.numpy().size for p in D.parameters())
    print(f"   parameters: G {count[0]:,}, D {count[1]:,}")
    check(x.shape == (2, 1), "D turns an image into one logit")

    print("\n2. Saturation: the generator's gradient when D confidently rejects a fake")
    for logit in (-6.0, 0.0):
        z = mc.tensor(np.array([[logit]]), requires_grad=True)
        minimax = -F.binary_cross_entropy_with_logits(z, mc.tensor(np.zeros((1, 1))))
        (g_minimax,) = mc.grad(minimax, z)            # d/dl log(1 - sigmoid(l)), minimised
        nonsat = F.binary_cross_entropy_with_logits(z, mc.tensor(np.ones((1, 1))))
        (g_nonsat,) = mc.grad(nonsat, z)              # d/dl -log sigmoid(l)
        print(f"   D(G(z)) = sigmoid({logit:+.0f}) = {1 / (1 + np.exp(-logit)):.4f}: "
              f"minimax gradient {g_minimax.item():+.5f}, non-saturating {g_nonsat.item():+.5f}")
        if logit < 0:
            ratio = abs(g_nonsat.item() / g_minimax.item())
    check(ratio > 100, f"where D wins, the non-saturating loss pushes {ratio:.0f}x harder")

    print(f"\n3. Training DCGAN-28 (width {width}) on MNIST-5k for {steps} steps")
    images = load_gan_images("mnist5k")
    if args.fast:
        images = images[:64]
    # fast and full runs keep separate folders: a full run never resumes a fast run's file
    folder = args.out / ("11_dcgan_run_fast" if args.fast else "11_dcgan_run")
    config = dict(width=width, batch_size=16 if args.fast else 64, seed=0)
    checkpoint = folder / "checkpoint.ckpt"
    # fast mode always starts over; a full run resumes only a run of these same settings
    resume = prepare_run(folder, "dcgan", config, args.fast)
    done = read_checkpoint(checkpoint)["step"] if resume else 0
    targets = [t for t in range(every, steps + 1, every) if t > done] or [steps]
    rows, marks = [], []
    for target in targets:
        training = train_gan("dcgan", target, folder, config, resume=checkpoint.exists(),
                             images=images, sample_every=every, checkpoint_every=every,
                             progress=not args.fast)
        rows.append(training.samples(training.eval_noise[:8]).numpy())
        marks.append(training.step)
        last = {name: training.run.curve(name)[1][-1] for name in training.loss_names}
        print(f"   step {training.step:4d}: L_D {last['loss_d']:.3f}  L_G {last['loss_g']:.3f}  "
              f"D(x) {last['d_real']:.2f}  D(G(z)) {last['d_fake']:.2f}")

    viz.save_image_grid(np.concatenate(rows), args.out / "11_progress.png", nrow=8, scale=3)
    viz.save_image_grid(training.samples(), args.out / "11_samples.png", nrow=8, scale=3)
    run = training.run
    viz.plot_curves({"L_D": run.curve("loss_d"), "L_G": run.curve("loss_g"),
                     "D(x)": run.curve("d_real"), "D(G(z))": run.curve("d_fake")},
                    args.out / "11_losses.png", title="DCGAN-28 on MNIST-5k")
    print(f"   rows of 11_progress.png are steps {marks}")

    print("\n4. Checks")
    losses = np.concatenate([run.curve(name)[1] for name in training.loss_names])
    check(bool(np.all(np.isfinite(losses))), "every loss stayed finite")
    samples = training.samples().numpy()
    if not args.fast:
        check(float(samples.std()) > 0.3, f"the samples are not constant (std "
              f"{samples.std():.2f})")
        real_ink = float((images > 0).mean())
        fake_ink = float((samples > 0).mean())
        print(f"   ink (pixels > 0): real digits {real_ink:.3f}, samples {fake_ink:.3f}")
        check(abs(fake_ink - real_ink) < 0.08,
              "the samples use about as much ink as real digits")
        late = run.curve("d_fake")[1][-50:]
        check(0.02 < float(late.mean()) < 0.9, f"the game is balanced: mean D(G(z)) over the "
              f"last 50 steps is {late.mean():.2f} (not 0: D has not won outright)")
    # the check that can fail: noise is not legible, a collapsed grid is not varied
    # (full mode: >= 90% legible, Fréchet distance <= 50 at N = 500, >= 8 digits)
    check_gan_samples("DCGAN-28 samples", generator_sampler(training.recipe, training.parts),
                      args.fast)
    print(f"\nPictures: {args.out}/11_progress.png, 11_samples.png, 11_losses.png")


if __name__ == "__main__":
    main()
