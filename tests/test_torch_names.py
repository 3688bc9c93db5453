"""The PyTorch names of issue 12 item 4: Tensor methods (norm, max/min with a dim, argmin,
clone, comparisons, new_*, type(), casts, is_cuda, grad_fn), top-level names (device,
dtypes, from_numpy, is_tensor, FloatTensor ..., Tensor(2, 3), Variable), grad(only_inputs),
Adadelta and Adagrad (trajectories against torch.optim), the new layers against torch.nn,
and ``import minicnn.nn.functional``. Differentiable ones: gradcheck + gradgradcheck and the
PyTorch oracle (tests/cases.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
from minicnn import nn
from minicnn.autograd import Variable
from minicnn.nn import Parameter
from cases import Case, case_tests
from oracle import torch_or_skip
from strategies import arrays, shapes, tie_free


# ---------------------------------------------------------------------------------------
# Differentiable methods: norm, max/min with a dim, clone
# ---------------------------------------------------------------------------------------
def _with_dim(strategy_of_shape, extra=None):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        kwargs = {"dim": dim, "keepdim": data.draw(st.booleans())}
        kwargs.update({k: data.draw(v) for k, v in (extra or {}).items()})
        return [data.draw(strategy_of_shape(shape))], kwargs
    return draw


def _whole(strategy_of_shape):
    def draw(data):
        return [data.draw(strategy_of_shape(data.draw(shapes(min_dims=1, max_dims=3))))]
    return draw


def _away_from_zero(shape):
    return arrays(shape, 0.2, 2.0).map(lambda a: a * np.where(np.arange(a.size).reshape(
        a.shape) % 2, -1, 1))


NORM_PS = st.sampled_from([2, 1, 3, 0.5, float("inf")])

CASES = [
    # the 2-norm has a kink where every value is 0: drawn away from it
    Case("norm_2_all", _whole(lambda s: arrays(s, away_from=0.0)), lambda x: x.norm(),
         lambda x: x.norm()),
    Case("norm_2_dim", _with_dim(lambda s: arrays(s, away_from=0.0)),
         lambda x, dim, keepdim: x.norm(2, dim=dim, keepdim=keepdim),
         lambda x, dim, keepdim: x.norm(2, dim=dim, keepdim=keepdim)),
    Case("norm_p_dim", _with_dim(_away_from_zero, {"p": NORM_PS}),
         lambda x, dim, keepdim, p: mc.norm(x, p, dim, keepdim),
         lambda x, dim, keepdim, p: x.norm(p, dim=dim, keepdim=keepdim)),
    Case("max_dim_values", _with_dim(lambda s: tie_free(s)),
         lambda x, dim, keepdim: x.max(dim, keepdim).values,
         lambda x, dim, keepdim: x.max(dim, keepdim).values),
    Case("min_dim_values", _with_dim(lambda s: tie_free(s)),
         lambda x, dim, keepdim: x.min(dim=dim, keepdim=keepdim)[0],
         lambda x, dim, keepdim: x.min(dim=dim, keepdim=keepdim)[0]),
    Case("max_all", _whole(lambda s: tie_free(s)), lambda x: x.max(), lambda x: x.max()),
    Case("clone", _whole(lambda s: arrays(s)), lambda x: x.clone() * x, lambda x: x.clone() * x),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def test_norm_of_a_zero_row_has_zero_gradient_as_pytorch():
    torch = torch_or_skip()
    x = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]])
    ours = mc.tensor(x, requires_grad=True)
    ours.norm(2, dim=1).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    theirs.norm(2, dim=1).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-14)
    assert (ours.grad.numpy()[0] == 0).all()


def test_max_with_dim_returns_values_and_indices_like_pytorch():
    torch = torch_or_skip()
    x = np.array([[1.0, 5.0, 5.0], [7.0, 0.0, -1.0]])
    for name in ("max", "min"):
        ours = getattr(mc.tensor(x), name)(dim=1)
        theirs = getattr(torch.tensor(x), name)(dim=1)
        values, indices = ours
        np.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
        assert ours.values is ours[0] and ours.indices.dtype == np.int64
        np.testing.assert_array_equal(getattr(mc, name)(mc.tensor(x), 0).indices.numpy(),
                                      getattr(torch, name)(torch.tensor(x), 0).indices.numpy())


def test_max_with_dim_sends_the_gradient_to_the_first_of_tied_maxima_as_pytorch():
    torch = torch_or_skip()
    x = np.array([[1.0, 5.0, 5.0]])
    ours = mc.tensor(x, requires_grad=True)
    ours.max(dim=1).values.sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    theirs.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_max_of_two_tensors_is_elementwise_and_argmin_matches():
    torch = torch_or_skip()
    a, b = np.array([1.0, 4.0, -2.0]), np.array([3.0, 0.0, -1.0])
    np.testing.assert_array_equal(mc.max(mc.tensor(a), mc.tensor(b)).numpy(), np.maximum(a, b))
    np.testing.assert_array_equal(mc.tensor(a).min(mc.tensor(b)).numpy(), np.minimum(a, b))
    x = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, -4.0]])
    for dim, keepdim in ((None, False), (1, False), (0, True), (-1, True)):
        kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
        np.testing.assert_array_equal(mc.tensor(x).argmin(**kwargs).numpy(),
                                      torch.tensor(x).argmin(**kwargs).numpy())


def test_clone_is_a_copy_in_the_graph_and_contiguous_copies_only_when_needed():
    x = mc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x.clone()
    assert y.array is not x.array and not np.shares_memory(y.array, x.array)
    assert type(y.grad_fn).__name__ == "Clone"
    assert x.contiguous() is x
    view = x.T
    assert not view.array.flags.c_contiguous
    assert view.contiguous().array.flags.c_contiguous
    (view.contiguous() * mc.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 3.0], [2.0, 4.0]])


@pytest.mark.parametrize("p,message", [("nuc", "nuclear"), ("abc", "'fro' or a number")])
def test_norm_refuses_what_it_cannot_do(p, message):
    with pytest.raises(ValueError, match=message):
        mc.ones(2, 2).norm(p)


def test_norm_of_integers_says_what_to_write():
    with pytest.raises(TypeError, match=r"x.float\(\).norm"):
        mc.LongTensor([3, 4]).norm()


def test_max_with_a_bad_dim_names_the_range():
    with pytest.raises(IndexError, match=r"max: dim: expected a dim in \[-2, 1\]"):
        mc.ones(2, 3).max(dim=2)


# ---------------------------------------------------------------------------------------
# Plain methods and attributes
# ---------------------------------------------------------------------------------------
def test_comparison_methods_match_pytorch():
    torch = torch_or_skip()
    a, b = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        ours = getattr(mc.tensor(a), name)(mc.tensor(b)).numpy()
        theirs = getattr(torch.tensor(a), name)(torch.tensor(b)).numpy()
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == np.bool_
    assert mc.tensor(a).eq(2.0).sum().item() == 1


def test_the_mnist_accuracy_idiom():
    output = mc.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    target = mc.LongTensor([1, 1, 1])
    pred = output.argmax(dim=1, keepdim=True)
    assert pred.eq(target.view_as(pred)).sum().item() == 2


def test_new_tensors_take_dtype_and_device_from_self():
    x = mc.ones(2, dtype=mc.float64)
    for made, shape in ((x.new_zeros(2, 3), (2, 3)), (x.new_ones((4,)), (4,)),
                        (x.new_full((1, 2), 7.0), (1, 2)), (x.new_empty(3), (3,)),
                        (x.new_tensor([1, 2]), (2,))):
        assert made.shape == shape and made.dtype == np.float64 and made.device == "cpu"
    np.testing.assert_array_equal(x.new_full((2,), 7.0).numpy(), [7.0, 7.0])
    assert x.new_zeros(2, dtype=mc.long).dtype == np.int64
    assert x.new_ones(2, requires_grad=True).requires_grad


def test_type_and_casts_as_pytorch():
    torch = torch_or_skip()
    ours, theirs = mc.ones(2), torch.ones(2, dtype=torch.float32)
    assert ours.type() == theirs.type() == "torch.FloatTensor"
    assert ours.long().type() == theirs.long().type() == "torch.LongTensor"
    assert ours.int().dtype == np.int32 and ours.double().dtype == np.float64
    assert ours.bool().dtype == np.bool_ and ours.half().dtype == np.float16
    assert ours.type(mc.LongTensor).dtype == np.int64
    assert ours.type(mc.float64).dtype == np.float64
    assert ours.type("torch.IntTensor").dtype == np.int32
    assert ours.long().float().dtype == np.float32


def test_is_cuda_grad_fn_and_device():
    x = mc.ones(2, requires_grad=True)
    assert x.is_cuda is False and x.grad_fn is None
    y = x * 2
    assert y.grad_fn is y.creator and y.grad_fn is not None
    assert x.device == "cpu" and x.device.type == "cpu" and x.device.index is None
    assert repr(x.device) == "device(type='cpu')"


# ---------------------------------------------------------------------------------------
# Top-level names
# ---------------------------------------------------------------------------------------
def test_device_objects_behave_as_torch_device():
    torch = torch_or_skip()
    for args in (("cpu",), ("cuda",), ("cuda:1",), ("cuda", 0)):
        ours, theirs = mc.device(*args), torch.device(*args)
        assert (ours.type, ours.index) == (theirs.type, theirs.index)
        assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
    assert mc.device("cpu") == "cpu" and mc.device(mc.device("cuda")) == "cuda"
    model = nn.Linear(2, 2).to(mc.device("cpu"))
    assert model.weight.device == "cpu"
    assert mc.zeros(2, device=mc.device("cpu")).device.type == "cpu"
    with pytest.raises(ValueError, match="'mps'"):
        mc.device("mps")


def test_dtype_aliases_are_numpy_dtypes_with_pytorchs_names():
    pairs = {"float": np.float32, "float32": np.float32, "double": np.float64,
             "float64": np.float64, "half": np.float16, "long": np.int64, "int64": np.int64,
             "int": np.int32, "int32": np.int32, "uint8": np.uint8, "bool": np.bool_}
    for name, dtype in pairs.items():
        assert getattr(mc, name) == np.dtype(dtype), name
    assert mc.zeros(2, dtype=mc.long).dtype == np.int64
    assert mc.ones(2).to(mc.double).dtype == np.float64
    assert mc.ones(2).dtype == mc.float32


def test_from_numpy_shares_memory_and_is_tensor():
    array = np.zeros(3, dtype=np.float64)
    t = mc.from_numpy(array)
    array[0] = 5
    assert t.dtype == np.float64 and t.numpy()[0] == 5
    assert mc.is_tensor(t) and mc.is_tensor(Parameter(mc.ones(1))) and not mc.is_tensor(array)
    with pytest.raises(TypeError, match="mc.tensor"):
        mc.from_numpy([1, 2])


def test_legacy_tensor_constructors_as_pytorch():
    torch = torch_or_skip()
    assert mc.Tensor(2, 3).shape == (2, 3) and mc.Tensor(2, 3).dtype == np.float32
    assert mc.Tensor().shape == (0,)
    for data in ([1, 2], [[1.5, 2.0]], (3, 4)):
        ours, theirs = mc.Tensor(data), torch.Tensor(data)
        assert ours.dtype == np.float32 and ours.tolist() == theirs.tolist()
    assert mc.FloatTensor(np.zeros(2)).dtype == np.float32  # float64 array -> float32
    assert mc.FloatTensor(2, 1).fill_(1.0).tolist() == [[1.0], [1.0]]
    assert mc.LongTensor([1, 2]).dtype == np.int64 and mc.DoubleTensor(2).dtype == np.float64
    assert mc.ByteTensor([1]).dtype == np.uint8
    assert isinstance(mc.ones(2), mc.FloatTensor) and not isinstance(mc.ones(2), mc.LongTensor)
    assert isinstance(mc.LongTensor([1]), mc.LongTensor)
    with pytest.raises(TypeError, match=r"mc.tensor\(x\)"):
        mc.Tensor(3.5)
    # torch.Tensor(array) is float32 (the default dtype) whatever the array's dtype;
    # from_numpy keeps it
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)   # PyTorch's default (the oracle sets float64)
    try:
        for array in (np.random.default_rng(0).random((2, 3)), np.arange(4), np.array([True])):
            ours, theirs = mc.Tensor(array), torch.Tensor(array)
            assert ours.dtype == np.float32 and str(theirs.dtype) == "torch.float32"
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            assert mc.from_numpy(array).dtype == array.dtype
    finally:
        torch.set_default_dtype(previous)
    assert mc.Tensor(mc.ones(2).double()).dtype == np.float32
    assert isinstance(mc.ones(1), mc.Tensor) and issubclass(mc.nn.Parameter, mc.Tensor)
    assert type(mc.ones(1)) is mc.Tensor
    assert mc.nn.Parameter(mc.ones(2).double()).dtype == np.float64   # subclasses keep theirs


def test_variable_is_a_detached_tensor_as_in_pytorch():
    x = mc.ones(2, requires_grad=True)
    y = x * 2
    v = Variable(y)
    assert v.requires_grad is False and v.grad_fn is None and np.shares_memory(v.array, y.array)
    w = Variable(mc.ones(2), requires_grad=True)
    assert w.is_leaf and w.requires_grad
    assert isinstance(w, Variable) and isinstance(v, mc.autograd.Variable)
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(mc.ones(1), volatile=True)
    with pytest.raises(TypeError, match="Variable: data: expected a Tensor"):
        Variable(np.ones(2))


def test_grad_accepts_only_inputs():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mc.autograd.grad(outputs=(x * x).sum(), inputs=x, only_inputs=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    with pytest.warns(UserWarning, match="only_inputs argument is deprecated"):
        mc.grad((x * x).sum(), x, only_inputs=False)


def test_nn_functional_is_minicnn_functional():
    import minicnn.nn.functional as F
    from minicnn.nn import functional as G

    assert F is mc.functional and G is F and nn.functional is F


# ---------------------------------------------------------------------------------------
# Optimizers: Adadelta, Adagrad against torch.optim
# ---------------------------------------------------------------------------------------
OPTIMIZERS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.3)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-3, maximize=True)),
]


def _trajectory(lib, name, options, make, steps=15):
    rng = np.random.default_rng(4)
    w0, x0, t0 = (rng.standard_normal(s) for s in ((3, 4), (5, 4), (5, 3)))
    w = make(w0.copy())
    optimizer = getattr(lib.optim, name)([w], **options)
    x, t = make(x0), make(t0)
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((((x @ w.T).tanh() - t) ** 2).sum())
        loss.backward()
        optimizer.step()
        path.append(w.detach().numpy().copy())
    return path, w0


@pytest.mark.parametrize("name,options", OPTIMIZERS, ids=[f"{n}-{o}" for n, o in OPTIMIZERS])
def test_optimizer_trajectory_matches_torch(name, options):
    torch = torch_or_skip()
    ours, w0 = _trajectory(mc, name, options, lambda a: Parameter(a))
    theirs, _ = _trajectory(torch, name, options,
                            lambda a: torch.tensor(a, requires_grad=a.shape == (3, 4)))
    for step, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}{options}: step {step + 1} differs")
    assert not np.allclose(ours[-1], w0)


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad"])
def test_optimizer_state_dict_resumes_exactly_and_float32_stays(name, tmp_path):
    def run(optimizer, w, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            ((w * w).sum() + w.sum()).backward()
            optimizer.step()

    w = Parameter(np.linspace(-1, 1, 6, dtype=np.float32))
    optimizer = getattr(mc.optim, name)([w])
    run(optimizer, w, 6)
    assert w.dtype == np.float32
    v = Parameter(np.linspace(-1, 1, 6, dtype=np.float32))
    first = getattr(mc.optim, name)([v])
    run(first, v, 3)
    second = getattr(mc.optim, name)([v])
    second.load_state_dict(first.state_dict())
    run(second, v, 3)
    np.testing.assert_array_equal(v.numpy(), w.numpy())


@pytest.mark.parametrize("name,options,message", [
    ("Adadelta", dict(rho=1.5), "Invalid rho value"),
    ("Adadelta", dict(lr=-1.0), "Invalid learning rate"),
    ("Adagrad", dict(lr_decay=-0.1), "Invalid lr_decay value"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value"),
])
def test_optimizer_errors_as_pytorch(name, options, message):
    with pytest.raises(ValueError, match=message):
        getattr(mc.optim, name)([Parameter(mc.ones(2))], **options)


# ---------------------------------------------------------------------------------------
# Layers against torch.nn (same weights, float64)
# ---------------------------------------------------------------------------------------
def _copy_weights(ours, theirs, torch):
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            dict(ours.named_parameters())[name].array[...] = p.detach().numpy()


LAYERS = [
    ("ELU", (), {"alpha": 0.7}, (3, 4)),
    ("GELU", (), {}, (3, 4)),
    ("GELU", (), {"approximate": "tanh"}, (3, 4)),
    ("SiLU", (), {}, (3, 4)),
    ("Conv1d", (2, 4, 3), {"stride": 2, "padding": 1}, (2, 2, 9)),
    ("Conv1d", (4, 6, 3), {"groups": 2, "dilation": 2, "bias": False}, (1, 4, 10)),
    ("Conv1d", (2, 3, 5), {"padding": "same"}, (2, 2, 7)),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (2, 3, 5, 7)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 4, 4)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", LAYERS,
                         ids=[f"{c[0]}-{c[2]}" for c in LAYERS])
def test_layer_matches_torch(name, args, kwargs, shape):
    torch = torch_or_skip()
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nn, name)(*args, **kwargs).double()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(q.shape)
    _copy_weights(ours, theirs, torch)
    x = np.random.default_rng(0).standard_normal(shape)
    x_mc, x_torch = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y_mc, y_torch = ours(x_mc), theirs(x_torch)
    np.testing.assert_allclose(y_mc.numpy(), y_torch.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(y_mc.shape)
    y_mc.backward(mc.tensor(v))
    y_torch.backward(torch.tensor(v))
    np.testing.assert_allclose(x_mc.grad.numpy(), x_torch.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=n)
    assert repr(ours) == repr(theirs)


def test_conv1d_default_init_has_pytorchs_bound():
    layer = nn.Conv1d(4, 8, 5)
    bound = 1 / np.sqrt(4 * 5)
    assert np.abs(layer.weight.numpy()).max() <= bound and layer.weight.numpy().std() > bound / 4
    assert np.abs(layer.bias.numpy()).max() <= bound


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch_and_keeps_the_padding_row(padding_idx):
    torch = torch_or_skip()
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    ours = nn.Embedding(6, 3, padding_idx=padding_idx)
    assert repr(ours) == repr(theirs) and ours.weight.dtype == np.float32
    if padding_idx is not None:
        assert (ours.weight.numpy()[padding_idx] == 0).all()
    ours = ours.double()
    _copy_weights(ours, theirs, torch)
    indices = np.array([[0, 2, 5], [5, 5, 1]])
    y_mc = ours(mc.from_numpy(indices))
    y_torch = theirs(torch.from_numpy(indices))
    np.testing.assert_array_equal(y_mc.numpy(), y_torch.detach().numpy())
    v = np.random.default_rng(2).standard_normal(y_mc.shape)
    y_mc.backward(mc.tensor(v))
    y_torch.backward(torch.tensor(v))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)


def test_embedding_errors_name_the_argument():
    layer = nn.Embedding(4, 2)
    with pytest.raises(TypeError, match=r"integer indices.*input.long\(\)"):
        layer(mc.tensor([1.0]))
    with pytest.raises(IndexError, match=r"indices must be in \[0, 3\]"):
        layer(mc.LongTensor([4]))
    with pytest.raises(ValueError, match="max_norm"):
        nn.Embedding(4, 2, max_norm=1.0)


def test_embedding_from_pretrained_is_frozen_by_default():
    rows = mc.tensor([[1.0, 2.0], [3.0, 4.0]])
    layer = nn.Embedding.from_pretrained(rows)
    assert not layer.weight.requires_grad
    np.testing.assert_array_equal(layer(mc.LongTensor([1])).numpy(), [[3.0, 4.0]])


def test_module_dict_registers_its_modules_as_pytorch():
    torch = torch_or_skip()
    ours = nn.ModuleDict({"conv": nn.Conv2d(1, 2, 3), "act": nn.ReLU()})
    theirs = torch.nn.ModuleDict({"conv": torch.nn.Conv2d(1, 2, 3), "act": torch.nn.ReLU()})
    ours["head"] = nn.Linear(2, 1)
    theirs["head"] = torch.nn.Linear(2, 1)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.keys()) == list(theirs.keys()) == ["conv", "act", "head"]
    assert repr(ours) == repr(theirs)
    assert "act" in ours and len(ours) == 3
    assert isinstance(ours.pop("act"), nn.ReLU) and list(ours) == ["conv", "head"]
    ours.update([("act2", nn.Tanh())])
    assert list(ours) == ["conv", "head", "act2"]
    with pytest.raises(KeyError, match="'missing'"):
        ours["missing"]
    with pytest.raises(TypeError, match="keys must be strings"):
        ours[3] = nn.ReLU()


