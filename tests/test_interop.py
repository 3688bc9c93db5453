"""The way out: safetensors files both ways with PyTorch, and ONNX export by tracing,
checked by onnx.checker and onnxruntime against minicnn's own forward."""
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from minicnn.gan.dcgan import (dcgan28_discriminator, dcgan28_generator,
                               dcgan64_discriminator, dcgan64_generator)
from minicnn.gan.wgan_gp import WGANGenerator, wgan_critic
from minicnn.models.classifier import DigitClassifier
from oracle import torch_or_skip

TWIN_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "gan_twin.py"


def _twin_module():
    spec = importlib.util.spec_from_file_location("gan_twin_for_interop", TWIN_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- safetensors ----------------------------------------------------------------------------
@pytest.fixture
def safetensors():
    pytest.importorskip("safetensors")
    import minicnn.safetensors

    return minicnn.safetensors


def test_safetensors_round_trip_keeps_values_dtypes_and_metadata(safetensors, tmp_path):
    tensors = {"w": mc.randn(3, 4), "b": mc.tensor(np.arange(5, dtype=np.int64)),
               "d": mc.tensor(np.ones((2, 2), dtype=np.float64))}
    path = tmp_path / "t.safetensors"
    safetensors.save_file(tensors, path, metadata={"recipe": "dcgan"})
    loaded = safetensors.load_file(path)
    assert set(loaded) == set(tensors)
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.numpy())
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        assert f.metadata() == {"recipe": "dcgan"}
    assert safetensors.load(safetensors.save(tensors))["w"].shape == (3, 4)


def test_safetensors_damaged_or_foreign_files_name_the_path(safetensors, tmp_path):
    model = dcgan28_generator(width=4)
    path = tmp_path / "g.safetensors"
    safetensors.save_model(model, path)
    data = path.read_bytes()
    broken = {"truncated.safetensors": data[: len(data) // 2],
              "header.safetensors": b"\xff" * 8 + data[8:],
              "foreign.safetensors": b"PK\x03\x04 a zip, not a safetensors file",
              "empty.safetensors": b""}
    for name, content in broken.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=name):
            safetensors.load_file(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="missing"):
        safetensors.load_file(tmp_path / "missing.safetensors")
    with pytest.raises(TypeError, match="metadata"):
        safetensors.save_file({"w": mc.ones(2)}, path, metadata={"n": 3})


def test_safetensors_load_model_reports_and_refuses_mismatches(safetensors, tmp_path):
    path = tmp_path / "lin.safetensors"
    safetensors.save_file({"weight": mc.ones(3, 2)}, path)
    layer = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="bias"):
        safetensors.load_model(layer, path)
    missing, unexpected = safetensors.load_model(layer, path, strict=False)
    assert missing == ["bias"] and unexpected == []
    np.testing.assert_array_equal(layer.weight.numpy(), np.ones((3, 2), np.float32))


@pytest.mark.oracle
@pytest.mark.parametrize("kind", ["dcgan", "wgan-gp"])
def test_safetensors_moves_gans_between_minicnn_and_pytorch(safetensors, tmp_path, kind):
    torch = torch_or_skip()
    from safetensors.torch import load_file as torch_load_file
    from safetensors.torch import save_file as torch_save_file

    twin = _twin_module()
    mc.manual_seed(0)
    if kind == "dcgan":
        ours, z_dim = dcgan28_generator(latent_dim=16, width=4), 16
        theirs = twin.torch_dcgan28(torch, 16, 4)[0]
    else:
        ours, z_dim = WGANGenerator(latent_dim=16, width=4), 16
        theirs = twin.torch_wgan_gp(torch, 16, 4)[0]
    theirs = theirs.float().eval()
    ours.eval()
    z = np.random.default_rng(0).standard_normal((3, z_dim)).astype(np.float32)
    # minicnn -> PyTorch
    safetensors.save_model(ours, tmp_path / "ours.safetensors")
    theirs.load_state_dict(torch_load_file(str(tmp_path / "ours.safetensors")))
    with mc.no_grad():
        expected = ours(mc.tensor(z)).numpy()
    with torch.no_grad():
        np.testing.assert_allclose(theirs(torch.from_numpy(z)).numpy(), expected, atol=1e-5)
    # PyTorch -> minicnn: new weights in PyTorch, loaded back into a fresh minicnn model
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(0.01 * torch.randn_like(p))
    torch_save_file(theirs.state_dict(), str(tmp_path / "theirs.safetensors"))
    fresh = (dcgan28_generator(latent_dim=16, width=4) if kind == "dcgan"
             else WGANGenerator(latent_dim=16, width=4)).eval()
    assert safetensors.load_model(fresh, tmp_path / "theirs.safetensors") == ([], [])
    with torch.no_grad():
        expected = theirs(torch.from_numpy(z)).numpy()
    with mc.no_grad():
        np.testing.assert_allclose(fresh(mc.tensor(z)).numpy(), expected, atol=1e-5)


# -- ONNX -----------------------------------------------------------------------------------
@pytest.fixture
def onnx_export():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import minicnn.onnx

    return minicnn.onnx.export


def _run_onnx(model_bytes, feeds):
    import onnxruntime

    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


BUILT_IN = {
    "classifier": (lambda: DigitClassifier(), (1, 28, 28)),
    "dcgan28_generator": (lambda: dcgan28_generator(width=8), (100,)),
    "dcgan28_discriminator": (lambda: dcgan28_discriminator(width=8), (1, 28, 28)),
    "dcgan28_discriminator_sn": (lambda: dcgan28_discriminator(width=8, batch_norm=False),
                                 (1, 28, 28)),
    "dcgan64_generator": (lambda: dcgan64_generator(width=4), (100,)),
    "dcgan64_discriminator": (lambda: dcgan64_discriminator(width=4), (1, 64, 64)),
    "wgan_generator": (lambda: WGANGenerator(width=8), (128,)),
    "wgan_critic": (lambda: wgan_critic(width=8), (1, 28, 28)),
    "wgan_critic_group_norm": (lambda: wgan_critic(width=8, group_norm=True), (1, 28, 28)),
}


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_models_export_and_run_in_onnxruntime(onnx_export, name):
    import onnx

    build, sample_shape = BUILT_IN[name]
    mc.manual_seed(1)
    model = build()
    if name.startswith("wgan_generator") or "discriminator" in name or name == "classifier":
        # a few training steps' worth of running statistics, so eval mode is not trivial
        model.train()
        with mc.no_grad():
            for _ in range(2):
                model(mc.randn(4, *sample_shape))
    buffer = io.BytesIO()
    proto = onnx_export(model, mc.randn(2, *sample_shape), buffer, input_names=["x"],
                        output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    assert model.training or name == "dcgan28_generator"  # the mode is restored
    onnx.checker.check_model(proto)
    initializer_names = {i.name for i in proto.graph.initializer}
    assert set(model.state_dict()) - initializer_names <= {
        k for k in model.state_dict() if k.endswith(("num_batches_tracked", "_u", "_v",
                                                     "running_mean", "running_var"))}
    model.eval()
    x = mc.randn(5, *sample_shape)  # another batch size than the traced one
    with mc.no_grad():
        expected = model(x).numpy()
    (got,) = _run_onnx(buffer.getvalue(), {"x": x.numpy()})
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


class _EveryOp(nn.Module):
    """Ops the built-in models do not use, each once."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3, stride=2, padding=(1, 2), dilation=(1, 2), groups=2)
        self.up = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
        self.norm = nn.LayerNorm([4, 7, 8])
        self.instance = nn.InstanceNorm2d(4, affine=True)

    def forward(self, x):
        import minicnn.functional as F

        y = F.elu(self.conv(x))
        y = F.hardtanh(y, -0.5, 0.8) + F.relu6(y * 4) + F.hardsigmoid(y * 5)
        y = self.instance(self.norm(self.up(y)[:, :, 1:, ::-1]))
        y = F.max_pool2d(F.softplus(y, beta=2.0), 2) + F.avg_pool2d(y.sigmoid(), 2)
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = mc.cat([y, (y * y + 1).sqrt().log(), y.exp() - y.abs()], dim=1)
        y = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1, 12)
        return F.log_softmax(y.mean(1), dim=-1), F.softmax(y.sum(dim=1), dim=1)


def test_every_converter_against_onnxruntime(onnx_export):
    mc.manual_seed(2)
    model = _EveryOp()
    buffer = io.BytesIO()
    onnx_export(model, (mc.randn(2, 4, 8, 8),), buffer, input_names=["x"],
                output_names=["a", "b"], dynamic_axes={"x": [0], "a": [0], "b": [0]})
    x = mc.randn(3, 4, 8, 8)
    with mc.no_grad():
        expected = [t.numpy() for t in model(x)]
    got = _run_onnx(buffer.getvalue(), {"x": x.numpy()})
    # float32 end to end: the softmax of a sum of 64 terms amplifies the last-bit
    # differences of two runtimes' reductions (seen: 1.4e-5 on a probability of 0.18)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=5e-5, rtol=1e-4)


def test_unsupported_ops_and_bad_arguments_are_named(onnx_export, tmp_path):
    from minicnn.onnx import UnsupportedOperatorError

    class Clamped(nn.Module):
        def forward(self, x):
            return x.clamp(-1, 1)

    with pytest.raises(UnsupportedOperatorError, match="MaskMul"):
        onnx_export(Clamped(), mc.randn(2, 3), tmp_path / "c.onnx")
    assert not (tmp_path / "c.onnx").exists()
    with pytest.raises(UnsupportedOperatorError, match="BatchNormTraining"):
        onnx_export(nn.BatchNorm1d(3, track_running_stats=False), mc.randn(4, 3),
                    tmp_path / "b.onnx")
    with pytest.raises(ValueError, match="opset_version"):
        onnx_export(nn.Linear(3, 2), mc.randn(2, 3), tmp_path / "l.onnx", opset_version=7)
    with pytest.raises(ValueError, match="input_names"):
        onnx_export(nn.Linear(3, 2), mc.randn(2, 3), tmp_path / "l.onnx",
                    input_names=["a", "b"])
    with pytest.raises(TypeError, match=r"args\[0\]"):
        onnx_export(nn.Linear(3, 2), np.ones((2, 3)), tmp_path / "l.onnx")


@pytest.mark.oracle
def test_onnx_agrees_with_the_pytorch_twin(onnx_export, tmp_path):
    """One generator, three runtimes: minicnn, onnxruntime and PyTorch (weights moved over
    through the state_dict) give the same images."""
    torch = torch_or_skip()
    twin = _twin_module()
    mc.manual_seed(3)
    ours = dcgan28_generator(latent_dim=16, width=4).eval()
    theirs = twin.torch_dcgan28(torch, 16, 4)[0].float().eval()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    onnx_export(ours, mc.randn(1, 16), tmp_path / "g.onnx", input_names=["z"],
                output_names=["images"], dynamic_axes={"z": {0: "n"}, "images": {0: "n"}})
    z = np.random.default_rng(1).standard_normal((4, 16)).astype(np.float32)
    with mc.no_grad():
        mine = ours(mc.tensor(z)).numpy()
    (onnx_images,) = _run_onnx(str(tmp_path / "g.onnx"), {"z": z})
    with torch.no_grad():
        pytorch_images = theirs(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(onnx_images, mine, atol=1e-5)
    np.testing.assert_allclose(pytorch_images, mine, atol=1e-5)


def test_stylegan_generator_exports_with_fixed_noise_and_refuses_random_noise(onnx_export,
                                                                               tmp_path):
    from minicnn.gan.stylegan import StyleGenerator
    from minicnn.onnx import UnsupportedOperatorError

    mc.manual_seed(4)
    generator = StyleGenerator(z_dim=8, w_dim=8, width=4, image_size=16)
    with pytest.raises(UnsupportedOperatorError, match="random numbers"):
        onnx_export(generator, mc.randn(2, 8), tmp_path / "s.onnx")
    generator.set_noise_mode("const")
    with mc.no_grad():  # non-zero noise weights, so the noise really reaches the images
        for name, p in generator.named_parameters():
            if name.endswith("noise.weight"):
                p.array[...] = 0.5
    buffer = io.BytesIO()
    onnx_export(generator, mc.randn(2, 8), buffer, input_names=["z"],
                output_names=["images"], dynamic_axes={"z": {0: "n"}, "images": {0: "n"}})
    z = mc.randn(3, 8)
    with mc.no_grad():
        expected = generator.eval()(z).numpy()
    (got,) = _run_onnx(buffer.getvalue(), {"z": z.numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


# -- the command line -------------------------------------------------------------------------
def test_export_and_import_commands_round_trip_a_gan_run(onnx_export, safetensors, tmp_path,
                                                        capsys):
    from minicnn.cli import main

    run = tmp_path / "run"
    assert main(["train", "dcgan", "--width", "4", "--steps", "1", "--out", str(run)]) == 0
    checkpoint = str(run / "checkpoint.ckpt")
    for suffix in (".onnx", ".safetensors"):
        assert main(["export", checkpoint, "--to", str(tmp_path / f"g{suffix}")]) == 0
    assert main(["export", checkpoint, "--to", str(tmp_path / "d.onnx"),
                 "--model", "discriminator"]) == 0
    from minicnn.gan.train import load_trained

    _, parts = load_trained(checkpoint)
    generator = parts.sampling_generator().eval()  # the EMA copy: what a run draws with
    assert generator is parts.models["generator_ema"]
    z = np.random.default_rng(0).standard_normal((3, 100)).astype(np.float32)
    with mc.no_grad():
        expected = generator(mc.tensor(z)).numpy()
    (got,) = _run_onnx(str(tmp_path / "g.onnx"), {"input": z})
    np.testing.assert_allclose(got, expected, atol=1e-5)
    (logits,) = _run_onnx(str(tmp_path / "d.onnx"), {"input": expected})
    assert logits.shape == (3, 1)

    imported = tmp_path / "imported.ckpt"
    assert main(["import", str(tmp_path / "g.safetensors"), "--recipe", "dcgan", "--width",
                 "4", "--out", str(imported)]) == 0
    _, parts = load_trained(str(imported))
    with mc.no_grad():
        np.testing.assert_array_equal(parts.models["generator"].eval()(mc.tensor(z)).numpy(),
                                      expected)
    assert main(["sample", str(imported), "--out", str(tmp_path / "grid.png")]) == 0
    capsys.readouterr()
    # mistakes: one line, exit 2, nothing overwritten
    mistakes = [["export", checkpoint, "--to", str(tmp_path / "g.onnx")],
                ["export", checkpoint, "--to", str(tmp_path / "g.txt")],
                ["export", checkpoint, "--to", str(tmp_path / "x.onnx"), "--model", "critic"],
                ["export", str(tmp_path / "missing.ckpt"), "--to", str(tmp_path / "m.onnx")],
                ["import", str(tmp_path / "g.safetensors"), "--recipe", "dcgan", "--out",
                 str(tmp_path / "wrong_width.ckpt")],
                ["import", str(tmp_path / "g.safetensors"), "--recipe", "nope", "--out",
                 str(tmp_path / "n.ckpt")]]
    for argv in mistakes:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error" in err, (argv, err)
    assert not (tmp_path / "wrong_width.ckpt").exists()


def test_export_a_classifier_checkpoint(onnx_export, tmp_path):
    from minicnn.cli import main
    from minicnn.models.classifier import save_classifier

    mc.manual_seed(5)
    model = DigitClassifier()
    save_classifier(model, tmp_path / "classifier.ckpt")
    assert main(["export", str(tmp_path / "classifier.ckpt"), "--to",
                 str(tmp_path / "c.onnx")]) == 0
    x = mc.randn(4, 1, 28, 28)
    with mc.no_grad():
        expected = model.eval()(x).numpy()
    (got,) = _run_onnx(str(tmp_path / "c.onnx"), {"input": x.numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_export_a_classifier_training_checkpoint(onnx_export, tmp_path):
    """``minicnn train classifier``'s checkpoint (a training run, not a GAN) exports too."""
    from minicnn.cli import main
    from minicnn.models.classifier import load_classifier
    from minicnn.training import TrainingRun

    mc.manual_seed(6)
    model = DigitClassifier()
    TrainingRun({"model": model}, config={"channels": [16, 32], "hidden": 128,
                                          "dropout": 0.25}).save(tmp_path / "run.ckpt")
    assert main(["export", str(tmp_path / "run.ckpt"), "--to", str(tmp_path / "c.onnx")]) == 0
    x = mc.randn(2, 1, 28, 28)
    with mc.no_grad():
        expected = load_classifier(tmp_path / "run.ckpt")(x).numpy()
    (got,) = _run_onnx(str(tmp_path / "c.onnx"), {"input": x.numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-5)
