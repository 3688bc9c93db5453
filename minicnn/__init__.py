"""minicnn: a from-scratch deep-learning engine for learning how CNNs and GANs work inside.

``import minicnn as mc`` gives the PyTorch-shaped public face::

    x = mc.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 x
"""
from . import backend, cuda, registry
from .autograd import (Function, Tensor, as_tensor, enable_grad, grad, is_grad_enabled,
                       no_grad, set_grad_enabled, tensor)
from .ops import (abs, amax, amin, arange, argmax, broadcast_to, cat, clamp, exp, flatten,
                  full, log, matmul, maximum, mean, minimum, ones, ones_like, pad, permute,
                  rand, rand_like, randint, randn, randn_like, relu, reshape, sigmoid, sqrt,
                  squeeze, stack, std, sum, tanh, transpose, unsqueeze, var, where, zeros,
                  zeros_like)
from .ops import diag, diagonal, outer, trace  # noqa: E402
from .ops.elementwise_more import *  # noqa: E402,F401,F403  (each module's __all__)
from .ops.shape_more import *  # noqa: E402,F401,F403
from .ops.reduce_linalg_more import *  # noqa: E402,F401,F403
from .ops.bitwise import *  # noqa: E402,F401,F403
from .ops.sampling import *  # noqa: E402,F401,F403
from .ops.special import *  # noqa: E402,F401,F403
from .ops.scan_search import *  # noqa: E402,F401,F403
from .ops.shape_extra import *  # noqa: E402,F401,F403
from .ops import (all, any, argsort, ceil, chunk, cos, cumsum, einsum, erf, eye, flip,  # noqa
                  floor, floor_divide, gather, isfinite, isinf, isnan, linspace, log2,
                  logsumexp, masked_fill, prod, remainder, repeat_interleave, roll, round,
                  rsqrt, scatter, scatter_add, sign, sin, sort, split, topk, tril, triu, trunc)
from .random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import load, save
from . import functional, nn, optim  # noqa: E402  (layers build on the core above)
from . import data, models, training, viz  # noqa: E402
from . import backends, utils  # noqa: E402  (torch.backends, torch.utils.data names)
from . import linalg  # noqa: E402  (torch.linalg: norms, inv, det, solve)
from . import distributions  # noqa: E402
from .random import Generator  # noqa: E402

from .autograd import Variable  # noqa: E402  (PyTorch < 0.4 scripts)
from .devices import device  # noqa: E402
from .ops.tensor_methods import (add, argmin, bmm, clone, div, index_select, mm,  # noqa: E402
                                 mul, narrow, norm, square, sub, unbind)
from .ops.math import power as pow  # noqa: E402, A001
from .ops.activation import log_softmax, softmax  # noqa: E402
from .torch_functions import *  # noqa: E402,F401,F403  (torch.conv2d, torch.dropout ...)
from .ops.tensor_methods import tensor_max as max, tensor_min as min  # noqa: E402, A001
from .ops.math import eq, ge, gt, le, lt, ne  # noqa: E402
from .torch_compat import (BoolTensor, ByteTensor, CharTensor, DoubleTensor,  # noqa: E402
                           FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor,
                           Size, bernoulli, empty, empty_like, from_numpy, full_like,
                           get_default_dtype, inference_mode, is_floating_point, is_tensor,
                           numel, randperm)
from .torch_compat import (bool, cdouble, cfloat, complex64, complex128, double,  # noqa: E402
                           float, float16, float32, float64, half, int, int8, int16, int32,
                           int64, long, short, uint8)
from .kernels.cpu_threads import get_num_threads, set_num_threads  # noqa: E402
from .torch_runtime import *  # noqa: E402,F401,F403  (memory formats, compile, finfo ...)
from . import amp  # noqa: E402
from .amp import autocast  # noqa: E402
from .kernels.cpu_threads import hold_blas_to_one_thread as _hold_blas  # noqa: E402
from .kernels.cpu_memory import keep_freed_memory as _keep_freed_memory  # noqa: E402

_hold_blas()  # the engine's threads do the parallel work (kernels/cpu_threads.py)
_keep_freed_memory()  # big arrays reuse freed pages: no page faults (kernels/cpu_memory.py)
__version__ = "0.1.0"


def __getattr__(name):
    """``mc.onnx`` without importing it first, as ``torch.onnx.export`` works after ``import
    torch`` (loaded on first use: it is only needed to export)."""
    if name == "onnx":
        import importlib

        return importlib.import_module(".onnx", __name__)
    raise AttributeError(f"module 'minicnn' has no attribute {name!r}")
