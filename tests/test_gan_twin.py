"""Step parity with the PyTorch twin (``benchmarks/gan_twin.py``): DCGAN-28 and WGAN-GP at
tiny width in float64 take 5 training steps in minicnn (its recipe's own ``train_step``) and
in PyTorch from the same weights, batches and noise; losses and every parameter and buffer
must agree within 1e-6 relative. Skipped without torch, required in CI."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from oracle import torch_or_skip

TWIN_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "gan_twin.py"


@pytest.fixture(scope="module")
def gan_twin():
    torch = torch_or_skip()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny tensors: PyTorch's thread pool only adds waiting
    spec = importlib.util.spec_from_file_location("gan_twin", TWIN_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    torch.set_num_threads(threads)


@pytest.mark.parametrize("kind", ["dcgan", "wgan-gp"])
def test_five_steps_agree_with_pytorch_in_float64(gan_twin, kind):
    result = gan_twin.step_parity(kind, width=4, batch_size=8, steps=5, seed=0)
    assert result["loss_rel"] < 1e-6, f"losses differ: {result['history']}"
    assert result["param_rel"] < 1e-6, f"{result['worst_tensor']} differs by {result['param_rel']:.2e}"
    # not vacuous: the losses changed from step to step (the models really trained)
    losses_d = [mine["loss_d"] for mine, _ in result["history"]]
    assert len(set(np.round(losses_d, 12))) == len(losses_d)


def test_parity_detects_a_different_update(gan_twin):
    """The comparison can fail: a PyTorch twin with another learning rate drifts apart."""
    torch = torch_or_skip()
    twins = gan_twin.Twins("dcgan", width=4, seed=0, dtype=np.float64)
    start = twins.state_differences()
    assert max(start.values()) == 0.0                     # identical weights to begin with
    for group in twins.opt_g.param_groups:
        group["lr"] *= 1.01
    stream = gan_twin.batch_stream(gan_twin.training_images(), 8, 0)
    for _ in range(2):
        twins.step(next(stream).astype(np.float64))
    differences = twins.state_differences()
    assert max(differences[name] for name in differences if name.startswith("G.")) > 1e-6
    assert torch is not None


def test_state_dict_keys_match_pytorch(gan_twin):
    torch = torch_or_skip()
    import minicnn as mc
    from minicnn.gan.dcgan import dcgan28_discriminator, dcgan28_generator
    from minicnn.gan.wgan_gp import WGANGenerator, wgan_critic

    mc.manual_seed(0)
    pairs = [(dcgan28_generator(100, 4), gan_twin.torch_dcgan28(torch, 100, 4)[0]),
             (dcgan28_discriminator(4), gan_twin.torch_dcgan28(torch, 100, 4)[1]),
             (WGANGenerator(128, 4), gan_twin.torch_wgan_gp(torch, 128, 4)[0]),
             (wgan_critic(4, group_norm=True), gan_twin.torch_wgan_gp(torch, 128, 4, True)[1])]
    for mine, theirs in pairs:
        assert list(mine.state_dict()) == list(theirs.state_dict())
        for name, value in mine.state_dict().items():
            assert tuple(value.shape) == tuple(theirs.state_dict()[name].shape), name
