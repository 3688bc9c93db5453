"""conv1d / conv_transpose1d (reshapes onto the 2-D convolutions) and F.pad's reflect,
replicate and circular modes: gradcheck + gradgradcheck, the PyTorch oracle (forward,
gradient, second derivative), shapes and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from cases import Case, case_tests
from oracle import torch_or_skip
from strategies import arrays


def _tf():
    return torch_or_skip().nn.functional


def conv1d_inputs(data):
    groups = data.draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    kernel = data.draw(st.integers(1, 3))
    kwargs = {"stride": data.draw(st.integers(1, 2)), "padding": data.draw(st.integers(0, 2)),
              "dilation": data.draw(st.integers(1, 2)), "groups": groups}
    span = kwargs["dilation"] * (kernel - 1) + 1
    n, length = data.draw(st.integers(1, 2)), data.draw(st.integers(span, span + 4))
    if data.draw(st.booleans()) and kwargs["stride"] == 1:
        kwargs["padding"] = data.draw(st.sampled_from(["same", "valid"]))
    x = data.draw(arrays((n, c_in, length)))
    w = data.draw(arrays((c_out, c_in // groups, kernel)))
    inputs = [x, w]
    if data.draw(st.booleans()):
        inputs.append(data.draw(arrays((c_out,))))
    return inputs, kwargs


def conv_transpose1d_inputs(data):
    groups = data.draw(st.sampled_from([1, 2]))
    n, length = data.draw(st.integers(1, 2)), data.draw(st.integers(2, 5))
    c_in, c_out = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    kernel, stride = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    dilation = data.draw(st.integers(1, 2))
    positive = length > 2 or kernel > 1 or stride > 1  # else padding 1 leaves no output
    kwargs = {"stride": stride, "padding": data.draw(st.integers(0, 1)) if positive else 0,
              "output_padding": data.draw(st.integers(0, max(stride, dilation) - 1)),
              "dilation": dilation, "groups": groups}
    x = data.draw(arrays((n, c_in, length)))
    w = data.draw(arrays((c_in, c_out // groups, kernel)))
    inputs = [x, w]
    if data.draw(st.booleans()):
        inputs.append(data.draw(arrays((c_out,))))
    return inputs, kwargs


def pad_inputs(mode):
    def draw(data):
        count = data.draw(st.integers(1, 3))
        batched = data.draw(st.booleans())
        spatial = tuple(data.draw(st.integers(2, 4)) for _ in range(count))
        shape = ((2,) if batched else ()) + (data.draw(st.integers(1, 2)),) + spatial
        widths = []
        for size in reversed(spatial):
            limit = size - 1 if mode == "reflect" else size if mode == "circular" else 3
            widths += [data.draw(st.integers(0, limit)), data.draw(st.integers(0, limit))]
        return [data.draw(arrays(shape))], {"pad": tuple(widths), "mode": mode}
    return draw


CASES = [
    Case("conv1d", conv1d_inputs, F.conv1d, lambda *t, **kw: _tf().conv1d(*t, **kw)),
    Case("conv_transpose1d", conv_transpose1d_inputs, F.conv_transpose1d,
         lambda *t, **kw: _tf().conv_transpose1d(*t, **kw)),
] + [Case(f"pad-{mode}", pad_inputs(mode), F.pad, lambda x, **kw: _tf().pad(x, **kw))
     for mode in ("reflect", "replicate", "circular")]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def test_conv1d_unbatched_and_shapes():
    x = mc.randn(3, 10, dtype=np.float64)
    w = mc.randn(4, 3, 3, dtype=np.float64)
    assert F.conv1d(x, w).shape == (4, 8)
    assert F.conv1d(x.unsqueeze(0), w, stride=2, padding=1).shape == (1, 4, 5)
    assert F.conv1d(x.unsqueeze(0), w, padding="same").shape == (1, 4, 10)
    wt = mc.randn(3, 2, 4, dtype=np.float64)
    assert F.conv_transpose1d(x, wt, stride=2, padding=1).shape == (2, 20)


def test_pad_modes_values():
    x = mc.tensor(np.array([[[1.0, 2.0, 3.0]]]))
    np.testing.assert_array_equal(F.pad(x, (2, 2), mode="reflect").numpy()[0, 0],
                                  [3, 2, 1, 2, 3, 2, 1])
    np.testing.assert_array_equal(F.pad(x, (2, 2), mode="replicate").numpy()[0, 0],
                                  [1, 1, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(F.pad(x, (2, 2), mode="circular").numpy()[0, 0],
                                  [2, 3, 1, 2, 3, 1, 2])
    np.testing.assert_array_equal(F.pad(x, (0, 0), mode="reflect").numpy(), x.numpy())


def test_pad_mode_gradient_lands_on_the_copied_pixel():
    x = mc.tensor(np.array([[[1.0, 2.0, 3.0]]]), requires_grad=True)
    F.pad(x, (3, 1), mode="replicate").sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [4.0, 1.0, 2.0])


def test_pad_mode_errors():
    x = mc.zeros(1, 2, 3)
    with pytest.raises(ValueError, match="reflect: each width must be smaller"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="circular: each width must be at most"):
        F.pad(x, (4, 0), mode="circular")
    with pytest.raises(ValueError, match="mode"):
        F.pad(x, (1, 1), mode="symmetric")
    with pytest.raises(ValueError, match="expects a 2-d or 3-d input"):
        F.pad(mc.zeros(1, 1, 2, 3), (1, 1), mode="reflect")
    with pytest.raises(RuntimeError, match="would have a negative size"):  # -1 crops, as PyTorch
        F.pad(x, (-2, -2), mode="replicate")
    with pytest.raises(ValueError, match="fill value"):
        F.pad(x, (1, 1), mode="replicate", value=2.0)


def test_conv1d_errors():
    with pytest.raises(ValueError, match="input: expected 3 dims"):
        F.conv1d(mc.zeros(1, 1, 2, 3), mc.zeros(1, 1, 1))
    with pytest.raises(ValueError, match="weight: expected 3 dims"):
        F.conv1d(mc.zeros(1, 1, 3), mc.zeros(1, 1, 1, 1))
    with pytest.raises(ValueError, match="stride: expected an int or a 1-tuple"):
        F.conv1d(mc.zeros(1, 1, 3), mc.zeros(1, 1, 1), stride=(1, 2))
    with pytest.raises(ValueError, match="channels"):
        F.conv1d(mc.zeros(1, 2, 3), mc.zeros(1, 1, 1))
    with pytest.raises(ValueError, match="conv1d: kernel size 3 .* larger than the padded"):
        F.conv1d(mc.zeros(1, 1, 4), mc.zeros(1, 1, 3), dilation=2)
    with pytest.raises(ValueError, match="conv_transpose1d: the output length 0"):
        F.conv_transpose1d(mc.zeros(1, 1, 2), mc.zeros(1, 1, 1), padding=1)
