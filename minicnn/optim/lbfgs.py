r"""L-BFGS (Nocedal, 1980; Liu & Nocedal, 1989): a quasi-Newton method that steps along
:math:`d = -H g`, where :math:`H` approximates the *inverse* Hessian from the last few
steps, without ever forming a matrix. A port of ``torch.optim.LBFGS`` (itself from
Schmidt's minFunc and Lua torch's ``optim``), the same numbers in the same order.

**The idea.** Newton's method steps by :math:`-\nabla^2 f^{-1} g`. BFGS builds an
approximation :math:`H` of that inverse from what each step taught: after moving by
:math:`s = x_{k+1} - x_k` the gradient changed by :math:`y = g_{k+1} - g_k`, and a good
inverse Hessian maps :math:`y` back to :math:`s` (the *secant condition* :math:`Hy = s`).
Each pair updates

.. math::

    H \leftarrow (I - \rho s y^\top)\, H\, (I - \rho y s^\top) + \rho s s^\top,
    \qquad \rho = 1 / (y^\top s).

Limited memory keeps only the last ``history_size`` pairs :math:`(s_i, y_i)` (``old_stps``,
``old_dirs``, ``ro`` = :math:`\rho_i`) and starts every product from a scaled identity
:math:`H_0 = \gamma I`, :math:`\gamma = y^\top s / y^\top y` of the newest pair (``H_diag``).
A pair is only kept when :math:`y^\top s > 10^{-10}` (the curvature must be positive for
:math:`H` to stay positive definite); the oldest one is dropped when the history is full.

**The two-loop recursion** computes :math:`d = -Hg` by unrolling the update above, in
:math:`O(mn)` for :math:`m` pairs of :math:`n`-vectors:

.. code-block:: text

    q = -g
    for i = newest ... oldest:          # peel off the updates, newest first
        al[i] = rho[i] * s[i] . q
        q    -= al[i] * y[i]
    r = H_diag * q                      # apply H_0
    for i = oldest ... newest:          # put them back, oldest first
        be    = rho[i] * y[i] . r
        r    += (al[i] - be) * s[i]
    d = r

The first iteration has no pairs: :math:`d = -g`.

**The step length** ``t``: ``lr`` (at the very first iteration ``min(1, 1/|g|_1) * lr``,
since :math:`-g` has no natural scale). With ``line_search_fn=None`` the step is taken as
is; with ``"strong_wolfe"`` a line search along :math:`d` looks for a ``t`` satisfying the
strong Wolfe conditions (:math:`f(x + td) \le f + c_1 t\, g^\top d`, enough decrease, and
:math:`|g(x + td)^\top d| \le c_2 |g^\top d|`, the slope flattened), bracketing then
zooming with safeguarded cubic interpolation (``_strong_wolfe``, ``_cubic_interpolate``).

**One ``step(closure)``** runs up to ``max_iter`` iterations (and ``max_eval`` closure
calls), and stops early when the gradient is small (``max |g| <= tolerance_grad``), the
direction is not a descent one, or the parameters or loss stop changing
(``tolerance_change``). The closure must recompute the loss and its gradients (zero_grad,
forward, backward) and return the loss; it runs with grad enabled, the updates under
``no_grad``.

All parameters are handled as one flat vector (the gradients concatenated), so there is
one parameter group only. The state (PyTorch's keys) sits under the first parameter:
``func_evals``, ``n_iter`` (counts over all steps), ``d``, ``prev_flat_grad`` (Tensors),
``old_dirs``, ``old_stps`` (lists of Tensors), ``t``, ``H_diag``, ``prev_loss`` (floats),
``ro``, ``al`` (lists of floats).
"""
from __future__ import annotations

from ..autograd import Tensor, enable_grad, no_grad
from ..backend import device_of, get_array_module, to_device
from .optimizer import Optimizer


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through the points ``(x1, f1)``, ``(x2, f2)`` with slopes
    ``g1``, ``g2``, clamped to ``bounds`` (default: between the two points); the middle of
    the bounds when the cubic has no minimum."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = get_array_module(d2_square).sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step length along ``d`` satisfying the strong Wolfe conditions, starting from
    ``t``. ``obj_func(x, t, d)`` returns the loss and flat gradient at ``x + t d`` (``f``,
    ``g``, ``gtd = g . d`` are their values at ``t = 0``). Returns ``(f_new, g_new, t,
    evaluations)``. Two phases, as Lua torch's ``lswolfe``: *bracket* (grow ``t`` until an
    interval is known to hold an acceptable point), then *zoom* (shrink that interval)."""
    d_norm = abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    # -- bracketing ------------------------------------------------------------------
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            # not enough decrease (or worse than before): the minimum is behind us
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            # both conditions hold: done without zooming
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            # the slope turned positive: a minimum lies in between
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # still going down: extrapolate, between 1.01 t and 10 t
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter >= max_ls:   # out of evaluations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # -- zoom: shrink the bracket around a point satisfying the conditions ---------------
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break   # the bracket is too small to matter
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # Safeguard: a trial point too close to an end of the bracket (twice in a row, or
        # outside it) is moved to 10% of the bracket's length from the nearest end.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # not enough decrease, or not below the low end: t becomes the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True     # the Wolfe conditions hold
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end becomes the low end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            # the new point becomes the low end
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, al):
    """``d = -H g`` from the history (see the module docstring); ``al`` (a list of at
    least ``len(old_dirs)`` entries) receives the first loop's coefficients."""
    num_old = len(old_dirs)
    q = -flat_grad
    for i in range(num_old - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q += (-al[i]) * old_dirs[i]
    r = q * H_diag
    for i in range(num_old):
        be_i = old_dirs[i].dot(r) * ro[i]
        r += (al[i] - be_i) * old_stps[i]
    return r


class LBFGS(Optimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None)``, as
    ``torch.optim.LBFGS``: ``max_eval`` defaults to ``max_iter * 5 // 4``;
    ``line_search_fn`` is None or ``"strong_wolfe"``. One parameter group only, and
    ``step`` needs a closure. Memory: ``2 * history_size + 2`` copies of the parameters."""

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if isinstance(lr, Tensor):
            if lr.array.size != 1:
                raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat vector ---------------------------------------------
    def _gather_flat_grad(self):
        """All the gradients, concatenated (zeros for a parameter without one)."""
        xp = get_array_module(self._params[0].array)
        return xp.concatenate([
            xp.zeros(p.array.size, dtype=p.array.dtype) if p.grad is None
            else p.grad.array.reshape(-1) for p in self._params])

    def _add_grad(self, step_size, update) -> None:
        """``params += step_size * update`` (``update`` flat), in place."""
        step_size = float(step_size)
        offset = 0
        for p in self._params:
            numel = p.array.size
            p.array += step_size * update[offset:offset + numel].reshape(p.array.shape)
            offset += numel

    def _clone_param(self):
        return [p.array.copy() for p in self._params]

    def _set_param(self, params_data) -> None:
        for p, data in zip(self._params, params_data):
            p.array[...] = data

    def _directional_evaluate(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t d``; the parameters are put back to ``x``."""
        self._add_grad(t, d)
        with enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # -- the step --------------------------------------------------------------------
    @no_grad()
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations. ``closure``: a function that zeroes
        the gradients, recomputes the loss, calls ``backward`` and returns the loss
        (required: a step evaluates it several times). Returns the closure's first loss."""
        if closure is None or not callable(closure):
            raise TypeError("LBFGS.step requires a closure that reevaluates the model and "
                            "returns the loss: optimizer.step(closure)")
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups); "
                             f"it has {len(self.param_groups)}")

        def evaluate():
            with enable_grad():
                return closure()

        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # LBFGS's state is global; it is kept under the first parameter (as PyTorch).
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        if abs(flat_grad).max() <= tolerance_grad:
            return orig_loss    # already optimal

        like = flat_grad
        d = _vector(state.get("d"), like)
        t = _float(state.get("t"))
        old_dirs = [_vector(v, like) for v in state.get("old_dirs") or []]
        old_stps = [_vector(v, like) for v in state.get("old_stps") or []]
        ro = [_float(v) for v in state.get("ro") or []]
        H_diag = _float(state.get("H_diag"))
        prev_flat_grad = _vector(state.get("prev_flat_grad"), like)
        prev_loss = _float(state.get("prev_loss"))
        if "al" in state:
            state["al"] = al = [_float(v) for v in state["al"]]

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # -- the direction -----------------------------------------------------------
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # remember the last step's pair (s, y) if its curvature is positive
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:   # full: forget the oldest
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                if "al" not in state:
                    state["al"] = al = [None] * history_size
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, al)

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # -- the step length -----------------------------------------------------------
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)      # the directional derivative
            if gtd > -tolerance_change:
                break                   # not a descent direction (any more)

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = abs(flat_grad).max() <= tolerance_grad
            else:
                # a fixed step; the function is re-evaluated unless this is the last
                # iteration (in a stochastic setting that evaluation would be wasted)
                self._add_grad(t, d)
                if n_iter != max_iter:
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # -- stopping ------------------------------------------------------------------
            if n_iter == max_iter or current_evals >= max_eval:
                break
            if opt_cond:
                break                   # the gradient is small enough
            if abs(d * t).max() <= tolerance_change:
                break                   # the parameters stopped changing
            if abs(loss - prev_loss) < tolerance_change:
                break                   # the loss stopped changing

        state["d"] = _tensor(d)
        state["t"] = _float(t)
        state["old_dirs"] = [_tensor(v) for v in old_dirs]
        state["old_stps"] = [_tensor(v) for v in old_stps]
        state["ro"] = [_float(v) for v in ro]
        state["H_diag"] = _float(H_diag)
        state["prev_flat_grad"] = _tensor(prev_flat_grad)
        state["prev_loss"] = _float(prev_loss)
        if "al" in state:
            state["al"] = [_float(v) for v in state["al"]]
        return orig_loss


# -- the state: vectors as Tensors, numbers as floats (loaded ones may be torch's) ---------
def _tensor(array):
    return None if array is None else Tensor._wrap(array)


def _float(value):
    return None if value is None else float(value)


def _vector(value, like):
    """A saved vector as an array of ``like``'s dtype and device (a copy: the state's own
    is not written)."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        array = value.array
    elif hasattr(value, "detach") and hasattr(value, "cpu"):    # a torch tensor
        array = value.detach().cpu().numpy()
    else:
        array = value
    array = to_device(array, device_of(like))
    return get_array_module(like).asarray(array).reshape(-1).astype(like.dtype, copy=True)
