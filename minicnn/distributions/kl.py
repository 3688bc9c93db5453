r"""The Kullback-Leibler divergence KL(p || q) = E_p[log p(x) - log q(x)], in closed form.

``kl_divergence(p, q)`` looks up the formula registered for the pair of types
``(type(p), type(q))``; ``@register_kl(P, Q)`` adds one. When several registrations match
(through subclasses) the most specific pair wins: the one whose classes come first in
``type(p).__mro__``, then in ``type(q).__mro__``.

The formulas (each elementwise over the batch)::

    Normal:      log(s_q / s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2
    Bernoulli:   p log(p / q) + (1 - p) log((1 - p) / (1 - q))
    Categorical: sum_k p_k (log p_k - log q_k)
    Uniform:     log((b_q - a_q) / (b_p - a_p)),  +inf unless [a_p, b_p) lies in [a_q, b_q)
    Independent: the base distributions' KL summed over the reinterpreted dimensions

They are written with minicnn's differentiable ops, so the KL term of a VAE's loss
back-propagates to the encoder (and twice, for second-order methods).
"""
from __future__ import annotations

import functools

from ..autograd import Tensor
from ..ops import where
from .bernoulli import Bernoulli, _softplus
from .categorical import Categorical
from .distribution import Distribution, broadcast_all, sum_rightmost
from .independent import Independent
from .normal import Normal
from .uniform import Uniform

_KL_REGISTRY: dict = {}


def register_kl(type_p, type_q):
    """Decorator: ``@register_kl(Normal, Normal)`` over ``def kl(p, q) -> Tensor``."""
    for name, cls in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(cls, type) and issubclass(cls, Distribution)):
            raise TypeError(f"register_kl: {name} must be a subclass of Distribution, got "
                            f"{cls!r}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        _dispatch_kl.cache_clear()
        return fn

    return decorator


@functools.lru_cache(maxsize=None)
def _dispatch_kl(type_p, type_q):
    matches = [(type_p.__mro__.index(p), type_q.__mro__.index(q), fn)
               for (p, q), fn in _KL_REGISTRY.items()
               if issubclass(type_p, p) and issubclass(type_q, q)]
    if not matches:
        return None
    return min(matches, key=lambda match: match[:2])[2]


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), of shape ``batch_shape`` (the two batches broadcast)."""
    fn = _dispatch_kl(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"kl_divergence: no KL(p || q) is registered for "
                                  f"p: {type(p).__name__} and q: {type(q).__name__}")
    return fn(p, q)


def _infinite_where(condition: Tensor, value: Tensor) -> Tensor:
    """``value`` with +inf where ``condition`` holds (the two broadcast)."""
    condition, value = broadcast_all(condition, value)
    return where(condition, float("inf"), value)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    # log p - log q = softplus(-l_q) - softplus(-l_p), since log sigmoid(l) = -softplus(-l)
    t1 = p.probs * (_softplus(-q.logits) - _softplus(-p.logits))
    t1 = _infinite_where(q.probs == 0, t1)
    t1 = where(broadcast_all(p.probs == 0, t1)[0], 0.0, t1)
    t2 = (1 - p.probs) * (_softplus(q.logits) - _softplus(p.logits))
    t2 = _infinite_where(q.probs == 1, t2)
    t2 = where(broadcast_all(p.probs == 1, t2)[0], 0.0, t2)
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    t = p.probs * (p.logits - q.logits)
    t = _infinite_where(q.probs == 0, t)
    t = where(broadcast_all(p.probs == 0, t)[0], 0.0, t)
    return t.sum(-1)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _infinite_where((q.low > p.low) | (q.high < p.high), result)


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(f"kl_divergence: Independent distributions with different "
                                  f"reinterpreted_batch_ndims ({p.reinterpreted_batch_ndims} "
                                  f"and {q.reinterpreted_batch_ndims})")
    result = kl_divergence(p.base_dist, q.base_dist)
    return sum_rightmost(result, p.reinterpreted_batch_ndims)

