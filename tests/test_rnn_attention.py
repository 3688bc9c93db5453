"""Recurrent layers (RNN/LSTM/GRU and their cells), sequence packing, MultiheadAttention and
the Transformer encoder, against PyTorch in float64 from identical weights: outputs, final
states, the gradient of every parameter and of the inputs; plus gradcheck/gradgradcheck,
state_dict keys, initialisation bounds and argument errors."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minicnn as mc
import minicnn.nn as nn
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.nn.utils import rnn as rnn_utils
from oracle import torch_or_skip


def _copy(torch_module, mc_module):
    """minicnn module in float64 with the torch module's weights (keys must agree)."""
    assert list(mc_module.state_dict()) == list(torch_module.state_dict())
    mc_module.double()
    mc_module.load_state_dict({k: v.detach().numpy() for k, v in
                               torch_module.state_dict().items()})
    return mc_module


def _pair(torch, array):
    """The same float64 array as a torch and a minicnn tensor, both requiring grad."""
    return (torch.tensor(array, requires_grad=True),
            mc.tensor(array).requires_grad_(True))


def _compare(torch, torch_outputs, mc_outputs, torch_module=None, mc_module=None,
             inputs=(), atol=1e-10, seed=0):
    """Same forward values; then backward a random weighting of all outputs through both
    and compare the gradients of every parameter and of each (torch, mc) input pair."""
    rng = np.random.default_rng(seed)
    torch_loss = mc_loss = 0
    for t, m in zip(torch_outputs, mc_outputs):
        np.testing.assert_allclose(m.numpy(), t.detach().numpy(), atol=atol, rtol=1e-8)
        weight = rng.standard_normal(tuple(t.shape))
        torch_loss = torch_loss + (t * torch.tensor(weight)).sum()
        mc_loss = mc_loss + (m * mc.tensor(weight)).sum()
    torch_loss.backward()
    mc_loss.backward()
    if torch_module is not None:
        mc_params = dict(mc_module.named_parameters())
        for name, param in torch_module.named_parameters():
            np.testing.assert_allclose(mc_params[name].grad.numpy(), param.grad.numpy(),
                                       atol=atol, rtol=1e-8, err_msg=name)
    for i, (t, m) in enumerate(inputs):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), atol=atol, rtol=1e-8,
                                   err_msg=f"input {i}")


def _flatten_state(state):
    return list(state) if isinstance(state, tuple) else [state]


MODES = {"rnn_tanh": ("RNN", {}), "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
         "lstm": ("LSTM", {}), "lstm_proj": ("LSTM", {"proj_size": 2}), "gru": ("GRU", {})}


def _modules(torch, mode, **options):
    name, extra = MODES[mode]
    torch_module = getattr(torch.nn, name)(3, 4, **extra, **options)
    return torch_module, _copy(torch_module, getattr(nn, name)(3, 4, **extra, **options))


def _initial_state(mode, layers, batch, hidden=4):
    rng = np.random.default_rng(1)
    size = 2 if mode == "lstm_proj" else hidden
    h_shape = (layers, batch, size) if batch else (layers, size)
    if mode.startswith("lstm"):
        c_shape = h_shape[:-1] + (hidden,)
        return [rng.standard_normal(h_shape), rng.standard_normal(c_shape)]
    return [rng.standard_normal(h_shape)]


# ---------------------------------------------------------------------------------------
# RNN / LSTM / GRU
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_matches_torch(mode, batch_first, num_layers, bidirectional, with_state):
    torch = torch_or_skip()
    torch.manual_seed(0)
    torch_module, mc_module = _modules(torch, mode, num_layers=num_layers,
                                       batch_first=batch_first, bidirectional=bidirectional)
    shape = (2, 3, 3) if batch_first else (3, 2, 3)
    x = _pair(torch, np.random.default_rng(0).standard_normal(shape))
    pairs = [x]
    torch_args, mc_args = [x[0]], [x[1]]
    if with_state:
        states = [_pair(torch, s) for s in
                  _initial_state(mode, num_layers * (2 if bidirectional else 1), 2)]
        pairs += states
        lstm = mode.startswith("lstm")
        torch_args.append(tuple(s[0] for s in states) if lstm else states[0][0])
        mc_args.append(tuple(s[1] for s in states) if lstm else states[0][1])
    torch_out, torch_state = torch_module(*torch_args)
    mc_out, mc_state = mc_module(*mc_args)
    _compare(torch, [torch_out, *_flatten_state(torch_state)],
             [mc_out, *_flatten_state(mc_state)], torch_module, mc_module, pairs)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_unbatched_input(mode, with_state):
    torch = torch_or_skip()
    torch.manual_seed(1)
    torch_module, mc_module = _modules(torch, mode, num_layers=2, bidirectional=True)
    x = _pair(torch, np.random.default_rng(2).standard_normal((3, 3)))      # (L, H_in)
    torch_args, mc_args, pairs = [x[0]], [x[1]], [x]
    if with_state:
        states = [_pair(torch, s) for s in _initial_state(mode, 4, None)]
        pairs += states
        lstm = mode.startswith("lstm")
        torch_args.append(tuple(s[0] for s in states) if lstm else states[0][0])
        mc_args.append(tuple(s[1] for s in states) if lstm else states[0][1])
    torch_out, torch_state = torch_module(*torch_args)
    mc_out, mc_state = mc_module(*mc_args)
    assert mc_out.shape == tuple(torch_out.shape)
    _compare(torch, [torch_out, *_flatten_state(torch_state)],
             [mc_out, *_flatten_state(mc_state)], torch_module, mc_module, pairs)


@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "gru", "lstm_proj"])
def test_recurrent_without_bias_and_state_dict_keys(mode):
    torch = torch_or_skip()
    torch_module, mc_module = _modules(torch, mode, num_layers=2, bias=False,
                                       bidirectional=True)
    assert not any("bias" in key for key in mc_module.state_dict())
    x = _pair(torch, np.random.default_rng(3).standard_normal((4, 1, 3)))
    torch_out, _ = torch_module(x[0])
    mc_out, _ = mc_module(x[1])
    _compare(torch, [torch_out], [mc_out], torch_module, mc_module, [x])
    # and back: minicnn's state_dict loads into torch
    torch_module.load_state_dict({k: torch.tensor(v.numpy()) for k, v in
                                  mc_module.state_dict().items()})


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_relu"])
def test_recurrent_packed_sequence_matches_torch(mode):
    torch = torch_or_skip()
    from torch.nn.utils import rnn as torch_rnn
    torch.manual_seed(2)
    torch_module, mc_module = _modules(torch, mode, num_layers=2, bidirectional=True,
                                       batch_first=True)
    x = _pair(torch, np.random.default_rng(4).standard_normal((3, 5, 3)))
    lengths = [2, 5, 3]
    torch_packed = torch_rnn.pack_padded_sequence(x[0], lengths, batch_first=True,
                                                  enforce_sorted=False)
    mc_packed = rnn_utils.pack_padded_sequence(x[1], lengths, batch_first=True,
                                               enforce_sorted=False)
    np.testing.assert_array_equal(mc_packed.batch_sizes.numpy(), torch_packed.batch_sizes)
    torch_out, torch_state = torch_module(torch_packed)
    mc_out, mc_state = mc_module(mc_packed)
    assert isinstance(mc_out, rnn_utils.PackedSequence)
    _compare(torch, [torch_out.data, *_flatten_state(torch_state)],
             [mc_out.data, *_flatten_state(mc_state)], torch_module, mc_module, [x])
    torch_padded, torch_lengths = torch_rnn.pad_packed_sequence(torch_out, batch_first=True,
                                                                total_length=6)
    mc_padded, mc_lengths = rnn_utils.pad_packed_sequence(mc_out, batch_first=True,
                                                          total_length=6)
    np.testing.assert_allclose(mc_padded.numpy(), torch_padded.detach().numpy(), atol=1e-12)
    np.testing.assert_array_equal(mc_lengths.numpy(), torch_lengths.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, padding_side):
    torch = torch_or_skip()
    from torch.nn.utils import rnn as torch_rnn
    rng = np.random.default_rng(5)
    pairs = [_pair(torch, rng.standard_normal((length, 2))) for length in (2, 4, 1)]
    expected = torch_rnn.pad_sequence([p[0] for p in pairs], batch_first, -1.5, padding_side)
    got = rnn_utils.pad_sequence([p[1] for p in pairs], batch_first, -1.5, padding_side)
    _compare(torch, [expected], [got], inputs=pairs)


def test_pack_sequence_round_trips():
    torch = torch_or_skip()
    from torch.nn.utils import rnn as torch_rnn
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((length, 2)) for length in (3, 3, 1)]
    torch_packed = torch_rnn.pack_sequence([torch.tensor(a) for a in arrays])
    mc_packed = rnn_utils.pack_sequence([mc.tensor(a) for a in arrays])
    np.testing.assert_allclose(mc_packed.data.numpy(), torch_packed.data.numpy())
    assert mc_packed.sorted_indices is None
    for array, back in zip(arrays, rnn_utils.unpack_sequence(mc_packed)):
        np.testing.assert_array_equal(back.numpy(), array)
    padded = rnn_utils.pad_sequence([mc.tensor(a) for a in arrays])
    for array, back in zip(arrays, rnn_utils.unpad_sequence(padded, [3, 3, 1])):
        np.testing.assert_array_equal(back.numpy(), array)


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,extra", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                        ("LSTMCell", {}), ("GRUCell", {}),
                                        ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_cells_match_torch(name, extra, batched, with_state):
    torch = torch_or_skip()
    torch.manual_seed(3)
    torch_cell = getattr(torch.nn, name)(3, 4, **extra)
    mc_cell = _copy(torch_cell, getattr(nn, name)(3, 4, **extra))
    rng = np.random.default_rng(7)
    x = _pair(torch, rng.standard_normal((2, 3) if batched else (3,)))
    torch_args, mc_args, pairs = [x[0]], [x[1]], [x]
    if with_state:
        shape = (2, 4) if batched else (4,)
        states = [_pair(torch, rng.standard_normal(shape))
                  for _ in range(2 if name == "LSTMCell" else 1)]
        pairs += states
        torch_args.append(tuple(s[0] for s in states) if name == "LSTMCell" else states[0][0])
        mc_args.append(tuple(s[1] for s in states) if name == "LSTMCell" else states[0][1])
    _compare(torch, _flatten_state(torch_cell(*torch_args)), _flatten_state(mc_cell(*mc_args)),
             torch_cell, mc_cell, pairs)


def _f64(rng, *shape):
    return mc.tensor(rng.standard_normal(shape)).requires_grad_(True)


@pytest.mark.parametrize("step", ["lstm", "gru"])
def test_cell_gradcheck_and_gradgradcheck(step):
    from minicnn.nn.rnn_cell import gru_step, lstm_step
    rng = np.random.default_rng(8)
    gates = 4 if step == "lstm" else 3
    x, h, c = _f64(rng, 2, 3), _f64(rng, 2, 2), _f64(rng, 2, 2)
    weights = [_f64(rng, gates * 2, 3), _f64(rng, gates * 2, 2), _f64(rng, gates * 2),
               _f64(rng, gates * 2)]
    if step == "lstm":
        def function(x, h, c, *weights):
            return lstm_step(x, (h, c), *weights)
        inputs = (x, h, c, *weights)
    else:
        function, inputs = gru_step, (x, h, *weights)
    assert gradcheck(function, inputs)
    assert gradgradcheck(function, inputs)
    cell = (nn.LSTMCell if step == "lstm" else nn.GRUCell)(3, 2).double()
    assert gradgradcheck(lambda x: _flatten_state(cell(x))[0], (x,))


def test_recurrent_init_bounds_and_repr():
    torch = torch_or_skip()
    lstm = nn.LSTM(3, 16, num_layers=2, bidirectional=True, proj_size=4)
    torch_lstm = torch.nn.LSTM(3, 16, num_layers=2, bidirectional=True, proj_size=4)
    assert list(lstm.state_dict()) == list(torch_lstm.state_dict())
    for (name, p), (_, q) in zip(lstm.named_parameters(), torch_lstm.named_parameters()):
        assert p.shape == tuple(q.shape), name
        assert np.abs(p.numpy()).max() <= 0.25 and np.abs(p.numpy()).max() > 0.2   # 1/sqrt(16)
    assert repr(lstm) == repr(torch_lstm)
    assert repr(nn.GRU(3, 4, batch_first=True, dropout=0.5, num_layers=2)) == repr(
        torch.nn.GRU(3, 4, batch_first=True, dropout=0.5, num_layers=2))
    assert repr(nn.RNNCell(3, 4, bias=False)) == repr(torch.nn.RNNCell(3, 4, bias=False))
    assert len(lstm.all_weights) == 4 and len(lstm.all_weights[0]) == 5


def test_recurrent_dropout_between_layers():
    torch = torch_or_skip()
    torch_module, mc_module = _modules(torch, "gru", num_layers=2, dropout=0.5)
    x = np.random.default_rng(9).standard_normal((4, 3, 3))
    train_a, _ = mc_module(mc.tensor(x))
    train_b, _ = mc_module(mc.tensor(x))
    assert not np.allclose(train_a.numpy(), train_b.numpy())      # random masks, training
    mc_module.eval()
    torch_module.eval()
    np.testing.assert_allclose(mc_module(mc.tensor(x))[0].numpy(),
                               torch_module(torch.tensor(x))[0].detach().numpy(), atol=1e-12)
    with pytest.warns(UserWarning, match="dropout"):
        nn.LSTM(3, 4, dropout=0.2)


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 3),
       st.booleans(), st.sampled_from(["lstm", "gru", "rnn_tanh"]))
def test_recurrent_property_over_sizes(length, batch, input_size, hidden, bidirectional, mode):
    torch = torch_or_skip()
    name, extra = MODES[mode]
    torch_module = getattr(torch.nn, name)(input_size, hidden, bidirectional=bidirectional)
    mc_module = _copy(torch_module, getattr(nn, name)(input_size, hidden,
                                                      bidirectional=bidirectional))
    x = _pair(torch, np.random.default_rng(length).standard_normal((length, batch, input_size)))
    torch_out, torch_state = torch_module(x[0])
    mc_out, mc_state = mc_module(x[1])
    _compare(torch, [torch_out, *_flatten_state(torch_state)],
             [mc_out, *_flatten_state(mc_state)], torch_module, mc_module, [x])


@pytest.mark.parametrize("build,message", [
    (lambda: nn.LSTM(3, 0), "hidden_size"),
    (lambda: nn.GRU(3, 4, num_layers=0), "num_layers"),
    (lambda: nn.GRU(3, 4, proj_size=2), "proj_size"),
    (lambda: nn.LSTM(3, 4, proj_size=4), "proj_size"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), "nonlinearity"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), "dropout"),
    (lambda: nn.LSTM(3, 4, batch_first=1), "batch_first"),
    (lambda: nn.LSTM(3.0, 4), "input_size"),
])
def test_recurrent_constructor_errors(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


def test_recurrent_forward_errors():
    lstm = nn.LSTM(3, 4, num_layers=2).double()
    x = mc.tensor(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"input: expected 2D .* got 4D"):
        lstm(mc.tensor(np.zeros((1, 5, 2, 3))))
    with pytest.raises(RuntimeError, match=r"input: expected 3 features .* got shape \(5, 2, 7\)"):
        lstm(mc.tensor(np.zeros((5, 2, 7))))
    with pytest.raises(RuntimeError, match=r"h_0: expected shape \(2, 2, 4\).* got \(1, 2, 4\)"):
        lstm(x, (mc.tensor(np.zeros((1, 2, 4))), mc.tensor(np.zeros((2, 2, 4)))))
    with pytest.raises(TypeError, match="hx: expected a pair"):
        lstm(x, mc.tensor(np.zeros((2, 2, 4))))
    with pytest.raises(ValueError, match="dtype"):
        lstm(mc.tensor(np.zeros((5, 2, 3), dtype=np.float32)))
    with pytest.raises(RuntimeError, match=r"hx: expected shape \(2, 4\)"):
        nn.GRUCell(3, 4)(mc.zeros(2, 3), mc.zeros(3, 4))
    with pytest.raises(ValueError, match="padding_side"):
        rnn_utils.pad_sequence([mc.zeros(2)], padding_side="middle")
    with pytest.raises(RuntimeError, match="enforce_sorted"):
        rnn_utils.pack_padded_sequence(mc.zeros(3, 2), [1, 3])


# ---------------------------------------------------------------------------------------
# MultiheadAttention
# ---------------------------------------------------------------------------------------
MHA_CONFIGS = {"packed": {}, "kv_dims": {"kdim": 3, "vdim": 5},
               "bias_kv_zero_attn": {"add_bias_kv": True, "add_zero_attn": True},
               "no_bias": {"bias": False}, "batch_first": {"batch_first": True}}


def _masks(kind, batch=2, length=3, source=5, heads=2):
    rng = np.random.default_rng(10)
    padding = np.zeros((batch, source), dtype=bool)
    padding[0, -2:] = True
    attn = rng.random((length, source)) > 0.6
    attn[:, 0] = False                          # every query keeps one key (no NaN rows)
    return {"none": {},
            "key_padding_bool": {"key_padding_mask": padding},
            "key_padding_float": {"key_padding_mask": np.where(padding, -np.inf, 0.0)},
            "attn_bool": {"attn_mask": attn},
            "attn_float": {"attn_mask": rng.standard_normal((length, source))},
            "attn_3d_and_padding": {"attn_mask": rng.random((batch * heads, length, source))
                                    > 2, "key_padding_mask": padding},
            }[kind]


@pytest.mark.parametrize("config", list(MHA_CONFIGS))
@pytest.mark.parametrize("masks", ["none", "key_padding_bool", "key_padding_float",
                                   "attn_bool", "attn_float", "attn_3d_and_padding"])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_multihead_attention_matches_torch(config, masks, need_weights, average):
    torch = torch_or_skip()
    torch.manual_seed(4)
    options = MHA_CONFIGS[config]
    torch_module = torch.nn.MultiheadAttention(4, 2, **options)
    mc_module = _copy(torch_module, nn.MultiheadAttention(4, 2, **options))
    rng = np.random.default_rng(11)
    first = (lambda n, s, e: (n, s, e)) if options.get("batch_first") else (
        lambda n, s, e: (s, n, e))
    q = _pair(torch, rng.standard_normal(first(2, 3, 4)))
    k = _pair(torch, rng.standard_normal(first(2, 5, options.get("kdim", 4))))
    v = _pair(torch, rng.standard_normal(first(2, 5, options.get("vdim", 4))))
    mask_arrays = _masks(masks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # PyTorch's fast-path notes
        torch_out, torch_weights = torch_module(
            q[0], k[0], v[0], need_weights=need_weights, average_attn_weights=average,
            **{name: torch.tensor(m) for name, m in mask_arrays.items()})
    mc_out, mc_weights = mc_module(q[1], k[1], v[1], need_weights=need_weights,
                                   average_attn_weights=average,
                                   **{name: mc.tensor(m) for name, m in mask_arrays.items()})
    outputs = [torch_out], [mc_out]
    if need_weights:
        assert mc_weights.shape == tuple(torch_weights.shape)
        outputs = [torch_out, torch_weights], [mc_out, mc_weights]
    else:
        assert mc_weights is None and torch_weights is None
    _compare(torch, *outputs, torch_module, mc_module, [q, k, v])


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_multihead_attention_causal_and_unbatched(need_weights, batched):
    torch = torch_or_skip()
    torch.manual_seed(5)
    torch_module = torch.nn.MultiheadAttention(4, 2)
    mc_module = _copy(torch_module, nn.MultiheadAttention(4, 2))
    x = _pair(torch, np.random.default_rng(12).standard_normal((3, 2, 4) if batched else (3, 4)))
    causal = np.triu(np.ones((3, 3), dtype=bool), 1)            # True = masked: j > i
    torch_out, torch_weights = torch_module(x[0], x[0], x[0], attn_mask=torch.tensor(causal),
                                            need_weights=need_weights, is_causal=True)
    mc_out, mc_weights = mc_module(x[1], x[1], x[1], attn_mask=mc.tensor(causal),
                                   need_weights=need_weights, is_causal=True)
    outputs = ([torch_out, torch_weights], [mc_out, mc_weights]) if need_weights else (
        [torch_out], [mc_out])
    _compare(torch, *outputs, torch_module, mc_module, [x])
    with pytest.raises(RuntimeError, match="attn_mask"):
        mc_module(x[1], x[1], x[1], is_causal=True)


def test_multihead_attention_init_and_dropout():
    module = nn.MultiheadAttention(8, 2, dropout=0.5, add_bias_kv=True)
    assert not module.in_proj_bias.numpy().any() and not module.out_proj.bias.numpy().any()
    bound = math.sqrt(6 / (8 + 24))                               # xavier on (3E, E)
    assert np.abs(module.in_proj_weight.numpy()).max() <= bound
    assert module.q_proj_weight is None and module.bias_k.shape == (1, 1, 8)
    x = mc.randn(3, 2, 8)
    a, b = module(x, x, x)[1], module(x, x, x)[1]
    assert not np.allclose(a.numpy(), b.numpy())                  # dropout in training
    module.eval()
    np.testing.assert_array_equal(module(x, x, x)[1].numpy(), module(x, x, x)[1].numpy())


def test_multihead_attention_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(13)
    query, key = _f64(rng, 2, 1, 4), _f64(rng, 3, 1, 4)
    in_weight, in_bias = _f64(rng, 12, 4), _f64(rng, 12)
    out_weight, out_bias = _f64(rng, 4, 4), _f64(rng, 4)
    mask = mc.tensor(np.array([[False, False, True], [False, True, False]]))

    def attention(query, key, in_weight, in_bias, out_weight, out_bias):
        return mc.functional.multi_head_attention_forward(
            query, key, key, 4, 2, in_weight, in_bias, None, None, False, 0.0, out_weight,
            out_bias, attn_mask=mask)
    inputs = (query, key, in_weight, in_bias, out_weight, out_bias)
    assert gradcheck(attention, inputs)
    assert gradgradcheck(lambda *t: attention(*t)[0], inputs)


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match=r"embed_dim \(5\) must be divisible by num_heads \(2\)"):
        nn.MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="num_heads: expected an int >= 1, got 0"):
        nn.MultiheadAttention(4, 0)
    module = nn.MultiheadAttention(4, 2)
    x = mc.randn(3, 2, 4)
    with pytest.raises(ValueError, match=r"query: expected 4 features .* got shape \(3, 2, 5\)"):
        module(mc.randn(3, 2, 5), x, x)
    with pytest.raises(RuntimeError, match=r"attn_mask: expected shape \(3, 3\)"):
        module(x, x, x, attn_mask=mc.zeros(3, 4))
    with pytest.raises(ValueError, match=r"key_padding_mask: expected shape \(2, 3\)"):
        module(x, x, x, key_padding_mask=mc.zeros(2, 4).bool())
    with pytest.raises(TypeError, match="bool or a float"):
        module(x, x, x, attn_mask=mc.zeros(3, 3).long())


# ---------------------------------------------------------------------------------------
# Transformer encoder
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer_matches_torch(norm_first, activation, batch_first):
    torch = torch_or_skip()
    torch.manual_seed(6)
    activations = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
                   "callable": (torch.tanh, mc.tanh)}[activation]
    options = dict(dim_feedforward=6, norm_first=norm_first, batch_first=batch_first)
    torch_layer = torch.nn.TransformerEncoderLayer(4, 2, activation=activations[0], **options)
    mc_layer = _copy(torch_layer, nn.TransformerEncoderLayer(4, 2, activation=activations[1],
                                                             **options))
    torch_layer.eval()
    mc_layer.eval()
    x = _pair(torch, np.random.default_rng(14).standard_normal((2, 3, 4) if batch_first
                                                               else (3, 2, 4)))
    padding = np.array([[False, False, True], [False, False, False]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch_layer(x[0], src_key_padding_mask=torch.tensor(padding))
    got = mc_layer(x[1], src_key_padding_mask=mc.tensor(padding))
    _compare(torch, [expected], [got], torch_layer, mc_layer, [x])


@pytest.mark.parametrize("with_norm", [False, True])
def test_transformer_encoder_matches_torch(with_norm):
    torch = torch_or_skip()
    torch.manual_seed(7)
    torch_layer = torch.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0)
    torch_encoder = torch.nn.TransformerEncoder(
        torch_layer, 2, norm=torch.nn.LayerNorm(4) if with_norm else None,
        enable_nested_tensor=False)
    with torch.no_grad():
        for p in torch_encoder.parameters():
            p.add_(0.1 * torch.randn_like(p))       # copies that differ from each other
    mc_layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0)
    mc_encoder = _copy(torch_encoder, nn.TransformerEncoder(
        mc_layer, 2, norm=nn.LayerNorm(4) if with_norm else None))
    assert mc_encoder.layers[0].linear1.weight is not mc_encoder.layers[1].linear1.weight
    assert mc_encoder.layers[0].linear1.weight is not mc_layer.linear1.weight
    x = _pair(torch, np.random.default_rng(15).standard_normal((3, 2, 4)))
    causal = torch.nn.Transformer.generate_square_subsequent_mask(3)
    from minicnn.nn.transformer import generate_square_subsequent_mask
    np.testing.assert_array_equal(generate_square_subsequent_mask(3).numpy(), causal.numpy())
    expected = torch_encoder(x[0], mask=causal)
    got = mc_encoder(x[1], mask=generate_square_subsequent_mask(3, dtype=mc.float64))
    _compare(torch, [expected], [got], torch_encoder, mc_encoder, [x])


def test_transformer_encoder_layer_errors_and_dropout():
    with pytest.raises(RuntimeError, match="activation: expected 'relu', 'gelu' or a callable"):
        nn.TransformerEncoderLayer(4, 2, activation="swish")
    with pytest.raises(ValueError, match="dropout"):
        nn.TransformerEncoderLayer(4, 2, dropout=2.0)
    with pytest.raises(TypeError, match="encoder_layer: expected a Module"):
        nn.TransformerEncoder("layer", 2)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.5)
    x = mc.randn(3, 2, 4)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())     # training: dropout
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())
