"""The Transformer decoder and the whole encoder-decoder ``nn.Transformer``, against
PyTorch in float64 from identical weights (torch's state_dict loaded into ours), in eval
mode: outputs and the gradients of the inputs and of every parameter, both norm orders,
both layouts, with a causal target mask and key padding masks; plus state_dict keys both
ways, the Xavier initialisation, the causal-mask helper and argument errors."""
import math
import warnings

import numpy as np
import pytest

import minicnn as mc
import minicnn.nn as nn
from oracle import torch_or_skip

pytestmark = pytest.mark.oracle


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


def _compare(torch, expected, got, torch_module, mc_module, inputs, atol=1e-10, seed=0):
    """Same forward value; then backward one random weighting through both and compare the
    gradient of every parameter and of each (torch, mc) input pair."""
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), atol=atol, rtol=1e-8)
    weight = np.random.default_rng(seed).standard_normal(tuple(expected.shape))
    (expected * torch.tensor(weight)).sum().backward()
    (got * mc.tensor(weight)).sum().backward()
    mc_params = dict(mc_module.named_parameters())
    assert list(mc_params) == [name for name, _ in torch_module.named_parameters()]
    for name, param in torch_module.named_parameters():
        np.testing.assert_allclose(mc_params[name].grad.numpy(), param.grad.numpy(),
                                   atol=atol, rtol=1e-8, err_msg=name)
    for i, (t, m) in enumerate(inputs):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), atol=atol, rtol=1e-8,
                                   err_msg=f"input {i}")


def _perturb(torch, module):
    """Move every parameter off its initial value (LayerNorm's 1 and 0, zero biases), so
    the copy check sees each one, and make the stacked layers differ from each other."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))


def _sequence(rng, length, batch, features, batch_first):
    shape = (batch, length, features) if batch_first else (length, batch, features)
    return rng.standard_normal(shape)


def _masks(torch, tgt_len, padded):
    """The causal target mask (float, as torch builds it; as a bool mask with ``bool``) and
    key padding masks (bool, True = padding; the last positions only, so no row is wholly
    masked) for a batch of 2, as (torch, mc) pairs."""
    causal = torch.nn.Transformer.generate_square_subsequent_mask(tgt_len)
    tgt_padding = np.zeros((2, tgt_len), dtype=bool)
    memory_padding = np.zeros((2, 3), dtype=bool)
    if padded:
        tgt_padding[0, -1] = True
        memory_padding[1, -1] = True
    return ((causal, nn.Transformer.generate_square_subsequent_mask(tgt_len,
                                                                    dtype=mc.float64)),
            (torch.tensor(tgt_padding), mc.tensor(tgt_padding)),
            (torch.tensor(memory_padding), mc.tensor(memory_padding)))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
def test_decoder_layer_matches_torch(norm_first, batch_first, activation):
    torch = torch_or_skip()
    torch.manual_seed(0)
    activations = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
                   "callable": (torch.tanh, mc.tanh)}[activation]
    options = dict(dim_feedforward=6, norm_first=norm_first, batch_first=batch_first)
    torch_layer = torch.nn.TransformerDecoderLayer(4, 2, activation=activations[0], **options)
    _perturb(torch, torch_layer)
    mc_layer = _copy(torch_layer, nn.TransformerDecoderLayer(4, 2, activation=activations[1],
                                                             **options))
    torch_layer.eval()
    mc_layer.eval()
    rng = np.random.default_rng(1)
    tgt = _pair(torch, _sequence(rng, 4, 2, 4, batch_first))
    memory = _pair(torch, _sequence(rng, 3, 2, 4, batch_first))
    causal, tgt_padding, memory_padding = _masks(torch, 4, padded=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # mixed float/bool masks: a deprecation warning
        expected = torch_layer(tgt[0], memory[0], tgt_mask=causal[0],
                               tgt_key_padding_mask=tgt_padding[0],
                               memory_key_padding_mask=memory_padding[0])
        got = mc_layer(tgt[1], memory[1], tgt_mask=causal[1],
                       tgt_key_padding_mask=tgt_padding[1],
                       memory_key_padding_mask=memory_padding[1])
    assert got.shape == tuple(expected.shape)
    _compare(torch, expected, got, torch_layer, mc_layer, [tgt, memory])


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_causal_hint_and_memory_mask(norm_first):
    """tgt_is_causal=True with the causal mask and no padding (the attention then applies
    the causal mask itself), plus a float memory_mask."""
    torch = torch_or_skip()
    torch.manual_seed(1)
    torch_layer = torch.nn.TransformerDecoderLayer(4, 2, 6, norm_first=norm_first)
    _perturb(torch, torch_layer)
    mc_layer = _copy(torch_layer, nn.TransformerDecoderLayer(4, 2, 6, norm_first=norm_first))
    torch_layer.eval()
    mc_layer.eval()
    rng = np.random.default_rng(2)
    tgt = _pair(torch, _sequence(rng, 4, 2, 4, False))
    memory = _pair(torch, _sequence(rng, 3, 2, 4, False))
    causal, _, _ = _masks(torch, 4, padded=False)
    memory_mask = rng.standard_normal((4, 3))
    expected = torch_layer(tgt[0], memory[0], tgt_mask=causal[0], tgt_is_causal=True,
                           memory_mask=torch.tensor(memory_mask))
    got = mc_layer(tgt[1], memory[1], tgt_mask=causal[1], tgt_is_causal=True,
                   memory_mask=mc.tensor(memory_mask))
    _compare(torch, expected, got, torch_layer, mc_layer, [tgt, memory])


@pytest.mark.parametrize("with_norm", [False, True])
@pytest.mark.parametrize("bool_mask", [False, True])
def test_decoder_matches_torch(with_norm, bool_mask):
    torch = torch_or_skip()
    torch.manual_seed(2)
    torch_layer = torch.nn.TransformerDecoderLayer(4, 2, 6)
    torch_decoder = torch.nn.TransformerDecoder(
        torch_layer, 2, norm=torch.nn.LayerNorm(4) if with_norm else None)
    _perturb(torch, torch_decoder)
    mc_layer = nn.TransformerDecoderLayer(4, 2, 6)
    mc_decoder = _copy(torch_decoder, nn.TransformerDecoder(
        mc_layer, 2, norm=nn.LayerNorm(4) if with_norm else None))
    assert mc_decoder.layers[0].linear1.weight is not mc_decoder.layers[1].linear1.weight
    assert mc_decoder.layers[0].linear1.weight is not mc_layer.linear1.weight
    torch_decoder.eval()
    mc_decoder.eval()
    rng = np.random.default_rng(3)
    tgt = _pair(torch, _sequence(rng, 4, 2, 4, False))
    memory = _pair(torch, _sequence(rng, 3, 2, 4, False))
    causal, _, memory_padding = _masks(torch, 4, padded=True)
    if bool_mask:
        causal = (causal[0].isinf(), causal[1].isinf())
    expected = torch_decoder(tgt[0], memory[0], tgt_mask=causal[0],     # causal: detected
                             memory_key_padding_mask=memory_padding[0])
    got = mc_decoder(tgt[1], memory[1], tgt_mask=causal[1],
                     memory_key_padding_mask=memory_padding[1])
    _compare(torch, expected, got, torch_decoder, mc_decoder, [tgt, memory])


def test_causal_mask_detection():
    from minicnn.nn.transformer import _detect_is_causal_mask
    causal = nn.Transformer.generate_square_subsequent_mask(3)
    assert _detect_is_causal_mask(causal, None, 3)
    assert _detect_is_causal_mask(causal.isinf(), None, 3)
    assert not _detect_is_causal_mask(causal, None, 4)           # another length
    assert not _detect_is_causal_mask(mc.zeros(3, 3), None, 3)
    assert not _detect_is_causal_mask(None, None, 3)
    assert not _detect_is_causal_mask(causal, False, 3)          # an explicit hint wins
    assert _detect_is_causal_mask(None, True, 3)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(norm_first, batch_first):
    torch = torch_or_skip()
    torch.manual_seed(3)
    options = dict(d_model=4, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                   dim_feedforward=6, norm_first=norm_first, batch_first=batch_first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # torch: nested tensors off with norm_first
        torch_model = torch.nn.Transformer(**options)
    _perturb(torch, torch_model)
    mc_model = _copy(torch_model, nn.Transformer(**options))
    torch_model.eval()
    mc_model.eval()
    rng = np.random.default_rng(4)
    src = _pair(torch, _sequence(rng, 3, 2, 4, batch_first))
    tgt = _pair(torch, _sequence(rng, 4, 2, 4, batch_first))
    causal, tgt_padding, memory_padding = _masks(torch, 4, padded=True)
    src_padding = memory_padding        # the memory is the encoded source: same positions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch_model(src[0], tgt[0], tgt_mask=causal[0],
                               src_key_padding_mask=src_padding[0],
                               tgt_key_padding_mask=tgt_padding[0],
                               memory_key_padding_mask=memory_padding[0])
        got = mc_model(src[1], tgt[1], tgt_mask=causal[1], src_key_padding_mask=src_padding[1],
                       tgt_key_padding_mask=tgt_padding[1],
                       memory_key_padding_mask=memory_padding[1])
    assert got.shape == tuple(expected.shape)
    _compare(torch, expected, got, torch_model, mc_model, [src, tgt])


def test_transformer_unbatched_with_causal_source():
    torch = torch_or_skip()
    torch.manual_seed(4)
    options = dict(d_model=4, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                   dim_feedforward=6, activation="gelu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # torch: nested tensors need batch_first
        torch_model = torch.nn.Transformer(**options)
    _perturb(torch, torch_model)
    mc_model = _copy(torch_model, nn.Transformer(**options))
    torch_model.eval()
    mc_model.eval()
    rng = np.random.default_rng(5)
    src, tgt = _pair(torch, rng.standard_normal((3, 4))), _pair(torch, rng.standard_normal((4, 4)))
    src_causal = torch.nn.Transformer.generate_square_subsequent_mask(3)
    tgt_causal = torch.nn.Transformer.generate_square_subsequent_mask(4)
    expected = torch_model(src[0], tgt[0], src_mask=src_causal, tgt_mask=tgt_causal,
                           src_is_causal=True, tgt_is_causal=True)
    got = mc_model(src[1], tgt[1], src_mask=mc.tensor(src_causal.numpy()),
                   tgt_mask=mc.tensor(tgt_causal.numpy()), src_is_causal=True,
                   tgt_is_causal=True)
    assert got.shape == (4, 4)
    _compare(torch, expected, got, torch_model, mc_model, [src, tgt])


def test_state_dicts_load_both_ways():
    torch = torch_or_skip()
    torch.manual_seed(5)
    mc_model = nn.Transformer(4, 2, 1, 2, 6, bias=False).double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_model = torch.nn.Transformer(4, 2, 1, 2, 6, bias=False)
    assert list(mc_model.state_dict()) == list(torch_model.state_dict())
    assert "decoder.layers.1.multihead_attn.in_proj_weight" in mc_model.state_dict()
    assert "decoder.norm.weight" in mc_model.state_dict()
    assert not any(key.endswith("bias") for key in mc_model.state_dict())
    torch_model.load_state_dict({k: torch.tensor(np.asarray(v.numpy()))
                                 for k, v in mc_model.state_dict().items()})
    for key, value in torch_model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), mc_model.state_dict()[key].numpy())
    layer = torch.nn.TransformerDecoderLayer(4, 2, 6)
    assert list(nn.TransformerDecoderLayer(4, 2, 6).state_dict()) == list(layer.state_dict())


def test_transformer_initialisation_is_xavier_uniform():
    model = nn.Transformer(8, 2, 1, 1, dim_feedforward=64, dropout=0.0)
    for name, p in model.named_parameters():
        values = p.numpy()
        if p.ndim > 1:
            fan_out, fan_in = p.shape
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert np.abs(values).max() <= bound, name
            assert np.abs(values).max() > 0.8 * bound, name
        elif "norm" in name:            # LayerNorms keep their 1 and 0
            np.testing.assert_array_equal(values, name.endswith("weight"), err_msg=name)
        elif "in_proj_bias" in name or "out_proj.bias" in name:
            np.testing.assert_array_equal(values, 0.0, err_msg=name)
        else:                           # a Linear's bias keeps its own uniform init
            fan_in = 64 if "linear2" in name else 8
            assert 0 < np.abs(values).max() <= 1 / math.sqrt(fan_in), name
    # both bounds tell Xavier from a Linear's own init (within 1/sqrt(fan_in)): linear1's
    # (64, 8) would pass sqrt(6/72), out_proj's (8, 8) would stay under 0.8 * sqrt(6/16)


def test_generate_square_subsequent_mask():
    torch = torch_or_skip()
    for size in (1, 4):
        np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(size)
                                      .numpy(),
                                      torch.nn.Transformer.generate_square_subsequent_mask(
                                          size).numpy())
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=mc.float64)
    assert mask.dtype == np.float64


def test_argument_errors_name_the_argument():
    with pytest.raises(RuntimeError, match="TransformerDecoderLayer: activation"):
        nn.TransformerDecoderLayer(4, 2, activation="swish")
    with pytest.raises(TypeError, match="TransformerDecoderLayer: activation"):
        nn.TransformerDecoderLayer(4, 2, activation=3)
    with pytest.raises(ValueError, match="TransformerDecoderLayer: dropout"):
        nn.TransformerDecoderLayer(4, 2, dropout=2.0)
    with pytest.raises(ValueError, match=r"d_model \(5\) must be divisible by nhead \(2\)"):
        nn.TransformerDecoderLayer(5, 2)
    with pytest.raises(ValueError, match="TransformerDecoderLayer: nhead"):
        nn.TransformerDecoderLayer(4, 0)
    with pytest.raises(ValueError, match="TransformerDecoderLayer: dim_feedforward"):
        nn.TransformerDecoderLayer(4, 2, dim_feedforward=0)
    with pytest.raises(TypeError, match="TransformerDecoder: decoder_layer: expected a Module"):
        nn.TransformerDecoder("layer", 2)
    with pytest.raises(ValueError, match="TransformerDecoder: num_layers"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 6), -1)
    with pytest.raises(ValueError, match="Transformer: d_model"):
        nn.Transformer(0, 1)
    with pytest.raises(ValueError, match="Transformer: num_decoder_layers"):
        nn.Transformer(4, 2, 1, -1, 6)
    with pytest.raises(TypeError, match="Transformer: custom_encoder: expected a Module"):
        nn.Transformer(4, 2, custom_encoder=lambda x: x)
    with pytest.raises(RuntimeError, match="Transformer: activation"):
        nn.Transformer(4, 2, 1, 1, 6, activation="tanh")

    layer = nn.TransformerDecoderLayer(4, 2, 6)
    x = mc.randn(3, 2, 4)
    with pytest.raises(TypeError, match="TransformerDecoderLayer: memory: expected a Tensor"):
        layer(x, np.zeros((3, 2, 4)))
    with pytest.raises(ValueError, match="TransformerDecoderLayer: memory: expected 3D"):
        layer(x, mc.randn(3, 4))
    with pytest.raises(ValueError, match="TransformerDecoderLayer: memory: expected batch"):
        layer(x, mc.randn(3, 5, 4))
    with pytest.raises(ValueError, match="TransformerDecoderLayer: tgt: expected"):
        layer(mc.randn(3, 2, 5), x)

    model = nn.Transformer(4, 2, 1, 1, 6)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(mc.randn(3, 2, 4), mc.randn(3, 1, 4))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal"):
        model(mc.randn(3, 2, 4), mc.randn(3, 2, 5))
    with pytest.raises(TypeError, match="Transformer: src: expected a Tensor"):
        model([1.0], mc.randn(3, 2, 4))
    with pytest.raises(RuntimeError, match="attn_mask"):       # a causal hint needs the mask
        model(mc.randn(3, 2, 4), mc.randn(3, 2, 4), tgt_is_causal=True)


def test_custom_stacks_and_dropout():
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 6), 1)
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 6), 1)
    model = nn.Transformer(4, 2, custom_encoder=encoder, custom_decoder=decoder,
                           dropout=0.5)
    assert model.encoder is encoder and model.decoder is decoder
    assert {name.split(".")[0] for name, _ in model.named_parameters()} == {"encoder",
                                                                            "decoder"}
    src, tgt = mc.randn(3, 2, 4), mc.randn(5, 2, 4)
    assert model(src, tgt).shape == (5, 2, 4)
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.5)
    assert not np.allclose(layer(tgt, src).numpy(), layer(tgt, src).numpy())    # training
    layer.eval()
    np.testing.assert_array_equal(layer(tgt, src).numpy(), layer(tgt, src).numpy())
