"""Graph mechanics: accumulation, diamonds, grad(), no_grad, detach, long chains, errors."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.autograd import Function
from minicnn.gradcheck import GradcheckError, gradcheck, gradgradcheck


def test_backward_accumulates_over_two_calls():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3])


def test_diamond_graph_adds_both_paths():
    x = mc.tensor(2.0, requires_grad=True)
    a = x * 3
    b = x.exp()
    y = a * b  # dy/dx = 3 e^x + 3x e^x
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 3 * np.exp(2) * (1 + 2), rtol=1e-6)


def test_same_tensor_used_twice_in_one_op():
    x = mc.tensor(3.0, requires_grad=True)
    (x * x).backward()
    assert x.grad.item() == pytest.approx(6.0)


def test_grad_leaves_dot_grad_alone():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mc.grad((x ** 2).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.grad is None


def test_grad_of_intermediate_tensor():
    x = mc.tensor(2.0, requires_grad=True)
    h = x * x
    y = 3 * h
    (gh, gx) = mc.grad(y, [h, x])
    assert gh.item() == pytest.approx(3.0) and gx.item() == pytest.approx(12.0)


def test_second_derivative_and_third():
    x = mc.tensor(np.array(0.7), requires_grad=True)
    y = x ** 4
    (g1,) = mc.grad(y, x, create_graph=True)
    (g2,) = mc.grad(g1, x, create_graph=True)
    (g3,) = mc.grad(g2, x)
    assert g1.item() == pytest.approx(4 * 0.7 ** 3)
    assert g2.item() == pytest.approx(12 * 0.7 ** 2)
    assert g3.item() == pytest.approx(24 * 0.7)


def test_backward_with_create_graph_gives_differentiable_grad():
    x = mc.tensor(np.array([0.5, -1.0]), requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = mc.grad(x.grad.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * np.array([0.5, -1.0]))


def test_no_grad_builds_no_graph_and_enable_grad_inside():
    x = mc.tensor(1.0, requires_grad=True)
    with mc.no_grad():
        y = x * 2
        with mc.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.creator is None
    assert z.requires_grad
    assert mc.is_grad_enabled()


def test_no_grad_as_decorator():
    @mc.no_grad()
    def f(x):
        return x * 2

    assert not f(mc.tensor(1.0, requires_grad=True)).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = mc.tensor([1.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.creator is None
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_requires_grad_():
    x = mc.tensor([1.0]).requires_grad_()
    assert x.requires_grad
    (x * 2).sum().backward()
    assert x.grad.item() == 2.0


def test_ten_thousand_op_chain_has_no_recursion_error():
    x = mc.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-3)


def test_allow_unused():
    x = mc.tensor(1.0, requires_grad=True)
    unused = mc.tensor(1.0, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="not used"):
        mc.grad(y, [x, unused], retain_graph=True)
    gx, gu = mc.grad(y, [x, unused], allow_unused=True)
    assert gx.item() == 2.0 and gu is None


def test_retain_graph_allows_a_second_walk():
    x = mc.tensor(1.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 4.0


def test_graph_is_freed_after_backward():
    x = mc.tensor(1.0, requires_grad=True)
    y = (x * x).exp()
    y.backward()
    with pytest.raises(RuntimeError, match="freed graph.*retain_graph=True"):
        y.backward()


def test_backward_of_non_scalar_needs_gradient():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output, got shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(gradient=mc.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_gradient_of_wrong_shape():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"expected shape \(2,\).*got \(3,\)"):
        (x * 2).backward(gradient=mc.tensor([1.0, 1.0, 1.0]))


def test_grad_of_input_that_does_not_require_grad():
    x = mc.tensor(1.0)
    w = mc.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"inputs\[0\] does not require grad"):
        mc.grad(x * w, [x])


def test_backward_of_tensor_without_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mc.tensor(1.0).backward()


def test_integer_data_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point.*got dtype int64"):
        mc.tensor(np.array([1, 2]), requires_grad=True)


def test_matmul_shape_mismatch_message():
    a, b = mc.randn(2, 3), mc.randn(4, 5)
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4, 5\).*\(3\).*\(4\)"):
        a @ b


def test_broadcasting_failure_message():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        mc.randn(2, 3) + mc.randn(4)


def test_reshape_failure_message():
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\)"):
        mc.randn(2, 3).reshape(4, 2)


def test_manual_seed_reproduces_draws():
    mc.manual_seed(123)
    a = mc.randn(3).numpy()
    mc.manual_seed(123)
    np.testing.assert_array_equal(a, mc.randn(3).numpy())
    state = mc.get_rng_state()
    b = mc.rand(2).numpy()
    mc.set_rng_state(state)
    np.testing.assert_array_equal(b, mc.rand(2).numpy())


class Cube(Function):
    """y = x^3, with a correct backward."""

    def forward(self, x):
        return x ** 3

    def backward(self, g):
        x = self.inputs[0]
        return g * 3 * x * x


class WrongCube(Cube):
    def backward(self, g):
        return g * 2 * self.inputs[0] * self.inputs[0]  # should be 3 x^2


def test_gradcheck_passes_a_correct_function():
    x = mc.tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
    assert gradcheck(Cube.apply, [x])
    assert gradgradcheck(Cube.apply, [x])


def test_gradcheck_reports_a_wrong_backward():
    x = mc.tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
    with pytest.raises(GradcheckError) as failure:
        gradcheck(WrongCube.apply, [x])
    report = str(failure.value)
    assert "inputs[0]" in report and "element (0,)" in report
    assert "analytic" in report and "numeric" in report and "worst relative error" in report
    assert gradcheck(WrongCube.apply, [x], raise_exception=False) is False


def test_gradcheck_counts_a_nan_gradient_as_a_failure():
    """A NaN never agrees with anything (a comparison `diff > tol` would let it pass): a
    backward that returns NaN, and sqrt at 0 (the norm of zero spread: inf * 0 = NaN)."""
    class NanBackward(Cube):
        def backward(self, g):
            return g * mc.tensor(np.full(self.inputs[0].shape, np.nan))

    x = mc.tensor(np.array([0.3, -0.7]), requires_grad=True)
    with pytest.raises(GradcheckError, match="analytic nan"):
        gradcheck(NanBackward.apply, [x])
    flat = mc.tensor(np.zeros(3), requires_grad=True)
    assert gradcheck(lambda t: (t - t.mean()).pow(2).sum().sqrt(), [flat],
                     raise_exception=False) is False


def test_gradcheck_random_directions_for_large_inputs():
    x = mc.tensor(np.random.default_rng(0).standard_normal(500), requires_grad=True)
    assert gradcheck(Cube.apply, [x], max_elements=100)
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(WrongCube.apply, [x], max_elements=100)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class FrozenCube(Cube):
        def backward(self, g):  # right first derivative, but not differentiable: x^2 is a constant
            return g * 3 * mc.tensor(self.inputs[0].array ** 2)

    x = mc.tensor(np.array([0.3, -0.7]), requires_grad=True)
    assert gradcheck(FrozenCube.apply, [x])
    with pytest.raises(GradcheckError):
        gradgradcheck(FrozenCube.apply, [x])


def test_gradcheck_refuses_float32():
    x = mc.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        gradcheck(Cube.apply, [x])
