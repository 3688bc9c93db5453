"""Semantics where NumPy and PyTorch differ, and minicnn follows PyTorch (issue 12 item 5,
issue 13 item 5): indexing, 0-d reductions, type promotion, pow's gradient at 0, integer
pooling and resizing, dtype checks of Linear/matmul, graph connectivity of create_graph
gradients, and argument errors. Each is checked against PyTorch where PyTorch is the rule.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip

# -- indexing -----------------------------------------------------------------------------
D = np.array([0, 2, 1, 2])          # an index array (repeats: the gradient adds up)
MASK = np.array([True, False, True])
S = slice(None)

# (name, index) with x of shape (2, 3, 12, 5, 4); ``t`` turns a NumPy array into the
# framework's tensor. Every index mixes integers or bools with index arrays: where NumPy
# and PyTorch place the arrays' dims differently, and where they must agree.
INDICES = [
    ("int-slice-slice-array-slice", lambda t: (1, S, slice(3, 11, 2), t(D), slice(0, 2))),
    ("int-slice-array", lambda t: (S, 1, S, t(D))),
    ("none-int-ellipsis-array", lambda t: (None, 1, Ellipsis, t(D))),
    ("int-none-array", lambda t: (S, 1, None, t(D))),
    ("int-ellipsis-array", lambda t: (1, Ellipsis, t(D))),
    ("array-int-array", lambda t: (t(D[:2] % 2), 1, t(D[:2]))),
    ("array-slice-array", lambda t: (S, t(D), S, t(D % 5))),
    ("array-none-array", lambda t: (S, t(D), None, t(D % 5))),
    ("mask-slice-int", lambda t: (S, t(MASK), S, 1)),
    ("int-mask-slice-int", lambda t: (1, t(MASK), S, 2)),
    ("true-slice-array", lambda t: (S, True, S, t(D))),
    ("array-true", lambda t: (S, t(D % 3), True)),
    ("negative-int-ellipsis-array-int", lambda t: (-1, Ellipsis, t(D), 1)),
]


def _mc_index(array):
    return mc.tensor(array, dtype=array.dtype)


def _index_case(name, make):
    def draw(data):
        seed = data.draw(st.integers(0, 2 ** 16))
        return [np.random.default_rng(seed).standard_normal((2, 3, 12, 5, 4))]

    def torch_fn(x):
        import torch

        return x[make(torch.tensor)]

    return Case(f"getitem-{name}", draw, lambda x: x[make(_mc_index)], torch_fn)


INDEX_CASES = [_index_case(name, make) for name, make in INDICES]
test_indexing_gradcheck, test_indexing_matches_pytorch = case_tests(INDEX_CASES)


@pytest.mark.oracle
@pytest.mark.parametrize("name,make", INDICES, ids=[n for n, _ in INDICES])
def test_indexing_shape_matches_pytorch(name, make):
    torch = torch_or_skip()
    x = np.arange(2 * 3 * 12 * 5 * 4).reshape(2, 3, 12, 5, 4)
    expected = torch.tensor(x)[make(torch.tensor)]
    got = mc.tensor(x, dtype="int64")[make(_mc_index)]
    assert got.shape == tuple(expected.shape)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_indexing_the_issue_example_differs_from_numpy():
    """x[1, :, 3:11:2, d, 0:2]: NumPy puts d's dim first, PyTorch keeps it in place."""
    x = np.zeros((2, 3, 12, 5, 4))
    d = np.array([0, 2, 1])
    assert x[1, :, 3:11:2, d, 0:2].shape == (3, 3, 4, 2)              # NumPy
    assert mc.tensor(x)[1, :, 3:11:2, mc.tensor(d, dtype="int64"), 0:2].shape == (3, 4, 3, 2)


def test_indexing_with_a_0d_integer_tensor_selects_like_an_int():
    x = mc.arange(2 * 3 * 4).reshape(2, 3, 4)
    d = mc.tensor([0, 2], dtype="int64")
    assert x[mc.tensor(1, dtype="int64"), :, d].shape == x[1, :, d].shape == (3, 2)


# -- reductions of a 0-d tensor -----------------------------------------------------------
def _scalar_draw(data):
    return [np.asarray(data.draw(st.floats(-2, 2)))]


SCALAR_CASES = [
    Case(f"0d-{name}-dim{dim}", _scalar_draw, (lambda f, d: lambda x: f(x, d))(mc_fn, dim),
         (lambda f, d: lambda x: f(x, d))(torch_fn, dim))
    for dim in (0, -1)
    for name, mc_fn, torch_fn in [
        ("sum", lambda x, d: x.sum(d), lambda x, d: x.sum(d)),
        ("sum-keepdim", lambda x, d: x.sum(d, keepdim=True), lambda x, d: x.sum(d, keepdim=True)),
        ("mean", lambda x, d: x.mean(d), lambda x, d: x.mean(d)),
        ("amax", lambda x, d: x.amax(d), lambda x, d: x.amax(d)),
        ("amin", lambda x, d: x.amin(d), lambda x, d: x.amin(d)),
        ("softmax", lambda x, d: F.softmax(x, d) * x, lambda x, d: x.softmax(d) * x),
        ("log_softmax", lambda x, d: F.log_softmax(x, d) + x * x,
         lambda x, d: x.log_softmax(d) + x * x),
    ]
]
test_0d_reductions_gradcheck, test_0d_reductions_match_pytorch = case_tests(SCALAR_CASES)


def test_0d_reductions_values_and_errors():
    x = mc.tensor(3.0)
    assert F.softmax(x, 0).item() == 1.0 and F.log_softmax(x, -1).item() == 0.0
    assert x.argmax(0).item() == 0 and x.argmax(0).dtype == np.int64
    assert mc.ones(2, 3).sum(()).item() == 6.0       # () means every dim, as in PyTorch
    with pytest.raises(IndexError, match="got 1"):
        x.sum(1)
    with pytest.raises(ValueError, match="more than once"):
        mc.ones(2, 3).sum((1, -1))


# -- flatten (issue 13) -------------------------------------------------------------------
def test_flatten_start_after_end_raises():
    x = mc.ones(2, 3, 4)
    with pytest.raises(ValueError, match="start_dim .2. cannot come after end_dim .1."):
        x.flatten(2, 1)
    with pytest.raises(ValueError, match="start_dim"):
        mc.nn.Flatten(2, 1)(x)
    assert x.flatten(-1, 2).shape == (2, 3, 4) and mc.tensor(1.0).flatten().shape == (1,)


# -- type promotion -----------------------------------------------------------------------
PROMOTION_OPERANDS = {
    "int64": np.array([1, 2, 3]), "int32": np.array([1, 2, 3], dtype=np.int32),
    "uint8": np.array([1, 2, 250], dtype=np.uint8), "bool": np.array([True, False, True]),
    "float16": np.array([0.5, 2.0, 3.0], dtype=np.float16),
    "float32": np.array([0.5, 2.0, 3.0], dtype=np.float32),
    "float64": np.array([0.5, 2.0, 3.0]),
    "0d-int64": np.array(2), "0d-float32": np.array(1.5, dtype=np.float32),
    "0d-float64": np.array(1.5), "python-int": 2, "python-float": 0.5, "python-bool": True,
}
BINARY_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
              "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
              "pow": lambda a, b: a ** b}


def _operand(value, make):
    return make(value) if isinstance(value, np.ndarray) else value


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


@pytest.fixture
def torch32():
    """torch with its default dtype float32 (minicnn's), restored to the oracle's float64."""
    torch = torch_or_skip()
    torch.set_default_dtype(torch.float32)
    yield torch
    torch.set_default_dtype(torch.float64)


@pytest.mark.oracle
@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_promotion_matches_pytorch(op, torch32):
    """Every pair of operands (tensors with dims, 0-d tensors, Python numbers): the same
    result dtype and values as PyTorch, or an error where PyTorch raises."""
    torch = torch32
    fn = BINARY_OPS[op]
    names = list(PROMOTION_OPERANDS)
    for left in names:
        for right in names:
            if left.startswith("python") and right.startswith("python"):
                continue
            a, b = PROMOTION_OPERANDS[left], PROMOTION_OPERANDS[right]
            context = f"{left} {op} {right}"
            try:
                expected = fn(_operand(a, torch.tensor), _operand(b, torch.tensor))
            except (RuntimeError, NotImplementedError):
                with pytest.raises((TypeError, ValueError)):
                    fn(_operand(a, _mc_index), _operand(b, _mc_index))
                continue
            if expected.dtype == torch.bool and op == "pow":
                continue  # torch's bool ** True is bool; minicnn refuses bool ** bool
            got = fn(_operand(a, _mc_index), _operand(b, _mc_index))
            assert _dtype_name(got.dtype) == _dtype_name(expected.dtype), context
            np.testing.assert_allclose(got.numpy().astype(float),
                                       expected.numpy().astype(float), rtol=2e-3,
                                       err_msg=context)


@pytest.mark.oracle
def test_unary_and_creation_promotion_matches_pytorch(torch32):
    torch = torch32
    for name in ("int64", "uint8", "bool", "float16", "float64"):
        value = PROMOTION_OPERANDS[name]
        for op in ("exp", "log", "sqrt", "sigmoid", "tanh", "abs", "relu", "sum"):
            if name == "bool" and op in ("abs", "relu"):
                continue  # not implemented for bool in PyTorch
            expected = getattr(torch, op)(torch.tensor(value))
            got = getattr(mc, op)(_mc_index(value))
            assert _dtype_name(got.dtype) == _dtype_name(expected.dtype), (op, name)
    cond = np.array([True, False, True])
    ints = PROMOTION_OPERANDS["int64"]
    pairs = [((2, 3), 4), ((2, 3), 4.0), ((2,), True)]
    for size, value in pairs:
        assert _dtype_name(mc.full(size, value).dtype) == \
            _dtype_name(torch.full(size, value).dtype), value
    for a, b in [(1, 3), (1.0, 3), (ints, 0.5), (ints, 3), (0.5, ints)]:
        expected = torch.where(torch.tensor(cond), _operand(a, torch.tensor),
                               _operand(b, torch.tensor))
        got = mc.where(mc.tensor(cond), _operand(a, _mc_index), _operand(b, _mc_index))
        assert _dtype_name(got.dtype) == _dtype_name(expected.dtype), (a, b)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    for low in (0.5, 1):
        assert _dtype_name(mc.clamp(_mc_index(ints), low).dtype) == \
            _dtype_name(torch.clamp(torch.tensor(ints), low).dtype)
    assert _dtype_name(mc.maximum(_mc_index(ints), mc.tensor([0.5])).dtype) == "float32"


def test_mixed_float_dtypes_give_each_input_its_own_gradient_dtype():
    """float32 + float64 is float64 (PyTorch), and each input's gradient keeps its dtype."""
    a = mc.tensor([1.0, 2.0], requires_grad=True)
    b = mc.tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = (a * b).sum()
    assert y.dtype == np.float64
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])
    assert (a * 0.5).dtype == np.float32 and (a * np.float64(0.5)).dtype == np.float32
    assert (a + mc.tensor(np.array(1.5))).dtype == np.float32   # 0-d float64: a scalar
    assert (mc.arange(3) / 2).dtype == np.float32 and (mc.arange(3) ** 0.5).dtype == np.float32
    with pytest.raises(TypeError, match="bool"):
        mc.tensor(np.array([True])) - 1


# -- argument errors (issue 13) -----------------------------------------------------------
@pytest.mark.parametrize("data", [None, [1.0, None], "a", {"a": 1},
                                  np.array([1, "a"], dtype=object)],
                         ids=["none", "list-with-none", "str", "dict", "object-array"])
def test_tensor_of_non_numbers_raises_type_error(data):
    with pytest.raises(TypeError, match="expected numbers"):
        mc.tensor(data)


def test_tensor_of_ragged_lists_raises():
    with pytest.raises(ValueError, match="ragged"):
        mc.tensor([[1.0], [1.0, 2.0]])


@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_linear_refuses_another_dtype_as_pytorch(dtype):
    layer = mc.nn.Linear(3, 2)
    x = mc.tensor(np.ones((4, 3), dtype=dtype), dtype=dtype)
    with pytest.raises(TypeError, match=f"input has dtype {dtype} but the layer's weight has "
                                        "dtype float32"):
        layer(x)
    with pytest.raises(TypeError, match=f"same dtype, got {dtype} and float32"):
        F.linear(x, layer.weight)
    assert layer(x.float()).dtype == np.float32


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_pytorch_linear_refuses_it_too(dtype, torch32):
    torch = torch32
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.nn.Linear(3, 2)(torch.ones(4, 3, dtype=getattr(torch, dtype)))


def test_arange_step_zero_and_inconsistent_bounds_raise_value_error():
    with pytest.raises(ValueError, match="step must be nonzero"):
        mc.arange(0, 10, 0)
    with pytest.raises(ValueError, match="step"):
        mc.arange(10, 0)
    assert mc.arange(5).dtype == np.int64 and mc.arange(0, 1, 0.25).dtype == np.float32
    assert mc.arange(3, 0, -1).tolist() == [3, 2, 1]


# -- pow's gradient at base 0 and exponent 0 ----------------------------------------------
BASES = np.array([0.0, 0.0, 0.0, 0.0, 1.5, 0.7, 2.0, 0.0])
EXPONENTS = np.array([0.0, 1.0, 2.0, 3.0, 0.0, 2.5, -1.0, 0.5])


@pytest.mark.oracle
@pytest.mark.parametrize("name,mc_fn,torch_fn,arrays", [
    ("tensor-tensor", lambda a, b: a ** b, lambda a, b: a ** b, [BASES, EXPONENTS]),
    ("exponent-zero", lambda a: a ** 0, lambda a: a ** 0, [BASES]),
    ("exponent-zero-float", lambda a: a ** 0.0, lambda a: a ** 0.0, [BASES]),
    ("exponent-two", lambda a: a ** 2, lambda a: a ** 2, [BASES]),
    ("exponent-three", lambda a: a ** 3, lambda a: a ** 3, [BASES]),
    ("zero-base", lambda b: 0.0 ** b, lambda b: 0.0 ** b, [np.abs(EXPONENTS)]),
    ("pow-function", lambda a, b: mc.ops.power(a, b), lambda a, b: a.pow(b),
     [BASES[:5], np.abs(EXPONENTS[:5])]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_pow_gradient_at_zero_matches_pytorch(name, mc_fn, torch_fn, arrays):
    """First and second derivatives where the plain formulas give NaN or inf (0 * log 0,
    0 * 0^-1): PyTorch's are 0 there, and minicnn's equal them."""
    check_against_torch(mc_fn, torch_fn, arrays)


def test_pow_gradient_values_at_zero():
    a = mc.tensor(np.array([0.0, 0.0, 2.0]), requires_grad=True)
    b = mc.tensor(np.array([0.0, 2.0, 0.0]), requires_grad=True)
    grad_a, grad_b = mc.grad((a ** b).sum(), [a, b])
    assert grad_a.tolist() == [0.0, 0.0, 0.0]           # 0 at b = 0; 2 * 0 at a = 0
    assert grad_b.tolist() == [0.0, 0.0, np.log(2.0)]   # 0 where a = 0 and b >= 0


# -- integer images: bilinear resizing of uint8, max pooling of integers -------------------
def _uint8_resize_settings():
    """(channels, input (H, W), interpolate keywords): sizes up and down, scale factors
    (1.2 keeps a size of 4: that dim is copied), both align_corners."""
    rng = np.random.default_rng(0)
    settings = []
    for _ in range(24):
        channels = int(rng.choice([1, 3, 4, 6]))
        h, w = (int(v) for v in rng.integers(1, 12, 2))
        if rng.integers(2):
            # PyTorch's generic uint8 kernel (> 4 channels) is wrong for an output width of
            # 1 (every row gets the first row's value): not compared there
            size = (int(rng.integers(1, 20)), int(rng.integers(2 if channels > 4 else 1, 20)))
            keywords = {"size": size}
        else:
            factor = float(rng.choice([0.5, 0.75, 1.2, 1.5, 2.0, 3.0]))
            if int(h * factor) < 1 or int(w * factor) < (2 if channels > 4 else 1):
                continue
            keywords = {"scale_factor": factor}
        settings.append((channels, (h, w), dict(keywords, align_corners=bool(rng.integers(2)))))
    return settings


@pytest.mark.oracle
@pytest.mark.parametrize("channels,hw,keywords", _uint8_resize_settings())
def test_uint8_bilinear_interpolate_equals_pytorch(channels, hw, keywords, torch32):
    """PyTorch resizes uint8 with integer weights, rounding after each pass: the same bytes."""
    torch = torch32
    x = np.random.default_rng(channels * 100 + hw[0]).integers(0, 256, (2, channels) + hw)
    x = x.astype(np.uint8)
    expected = torch.nn.functional.interpolate(torch.tensor(x), mode="bilinear", **keywords)
    got = F.interpolate(mc.tensor(x), mode="bilinear", **keywords)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("factor", [1.2, 1.5, (1.2, 1.7)])
def test_float_interpolate_with_a_size_keeping_scale_factor_equals_pytorch(mode, factor):
    torch = torch_or_skip()
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 5))
    expected = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=factor, mode=mode)
    got = F.interpolate(mc.tensor(x), scale_factor=factor, mode=mode)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-12)


def test_integer_resizing_that_pytorch_lacks_raises():
    x = mc.tensor(np.ones((1, 1, 4, 4), dtype=np.int64), dtype="int64")
    with pytest.raises(TypeError, match="bilinear.*int64"):
        F.interpolate(x, size=3, mode="bilinear")
    with pytest.raises(TypeError, match="int64"):
        F.adaptive_avg_pool2d(mc.tensor(np.ones((1, 1, 4, 4), dtype=np.uint8)).long(), 2)
    assert F.interpolate(x, scale_factor=2).dtype == np.int64       # nearest copies values


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_max_pool2d_on_integers_equals_pytorch(dtype, torch32):
    torch = torch32
    x = np.random.default_rng(0).integers(0, 200, (2, 3, 7, 6)).astype(dtype)
    for keywords in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}):
        expected = torch.nn.functional.max_pool2d(torch.tensor(x), **keywords)
        got = F.max_pool2d(mc.tensor(x, dtype=dtype), **keywords)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


# -- create_graph gradients stay connected to the graph -----------------------------------
PIECEWISE_LINEAR = [
    ("relu", lambda x: mc.relu(x), lambda x: x.relu(), (2, 5)),
    ("abs", lambda x: mc.abs(x), lambda x: x.abs(), (2, 5)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2),
     lambda x: __import__("torch").nn.functional.leaky_relu(x, 0.2), (2, 5)),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2),
     lambda x: __import__("torch").nn.functional.max_pool2d(x, 2), (1, 2, 4, 4)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2),
     lambda x: __import__("torch").nn.functional.avg_pool2d(x, 2), (1, 2, 4, 4)),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,mc_fn,torch_fn,shape", PIECEWISE_LINEAR,
                         ids=[row[0] for row in PIECEWISE_LINEAR])
def test_second_grad_of_piecewise_linear_is_zeros_as_pytorch(name, mc_fn, torch_fn, shape):
    torch = torch_or_skip()
    x = np.random.default_rng(0).standard_normal(shape)
    ours, theirs = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g_ours,) = mc.grad(mc_fn(ours).sum(), ours, create_graph=True)
    (g_theirs,) = torch.autograd.grad(torch_fn(theirs).sum(), theirs, create_graph=True)
    assert g_ours.requires_grad and g_theirs.requires_grad
    np.testing.assert_allclose(g_ours.numpy(), g_theirs.detach().numpy())
    (gg_ours,) = mc.grad((g_ours * g_ours).sum(), ours)
    (gg_theirs,) = torch.autograd.grad((g_theirs * g_theirs).sum(), theirs)
    np.testing.assert_array_equal(gg_ours.numpy(), gg_theirs.numpy(force=True))
    assert not gg_ours.numpy().any()


def test_gradient_penalty_through_relu_network_reaches_the_weights():
    """WGAN-GP's penalty through a piecewise-linear critic: d/dw of |dD/dx|^2 is nonzero
    (the gradient depends on w), and d/dx of it is zero, without errors."""
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    (g,) = mc.grad(mc.relu(x @ w).sum(), x, create_graph=True)
    penalty = (g * g).sum()
    grad_x, grad_w = mc.grad(penalty, [x, w])
    assert not grad_x.numpy().any() and grad_w.numpy().any()


def test_linear_functions_still_give_constant_gradients():
    """As in PyTorch: the gradient of 2 x does not depend on x and does not require grad."""
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mc.grad((2 * x).sum(), x, create_graph=True)
    assert not g.requires_grad


def test_zero_gradients_reach_the_caller_as_plain_writable_zeros():
    """The zero that Connected hands back flows through the forward graph without running
    its backward math (autograd.ZeroGradient) and arrives as an ordinary zeros tensor."""
    from minicnn.autograd import ZeroGradient

    w = mc.tensor(np.ones((3, 3)), requires_grad=True)
    x = mc.tensor(np.random.default_rng(1).standard_normal((2, 3)), requires_grad=True)
    h = x @ w                                    # the zero reaches x and w through matmul
    (g,) = mc.grad(mc.relu(h).sum(), h, create_graph=True)
    gx, gw = mc.grad(g.sum(), [x, w], retain_graph=True)
    for grad in (gx, gw):
        assert type(grad) is mc.Tensor and not isinstance(grad, ZeroGradient)
        assert not grad.numpy().any() and grad.array.flags.writeable
    g.sum().backward()
    assert type(w.grad) is mc.Tensor and not w.grad.numpy().any()
