"""Neural-network building blocks: ``Module``, ``Parameter``, layers, containers, ``init``
and ``utils`` (spectral norm, gradient clipping), PyTorch-shaped (``torch.nn``)."""
from . import init, parallel, utils
from .containers import ModuleList, Sequential
from .layers import (AvgPool2d, Conv2d, ConvTranspose2d, Dropout, Dropout2d, Flatten,
                     Identity, LeakyReLU, Linear, MaxPool2d, ReLU, Sigmoid, Softplus, Tanh,
                     Unflatten, Upsample)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                   NLLLoss, SmoothL1Loss)
from .activations import (CELU, ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid,
                          LogSoftmax, Mish, PReLU, ReLU6, SiLU, Softmax)
from .adaptive_pool import AdaptiveAvgPool2d
from .conv1d import Conv1d, ConvTranspose1d
from .conv3d import Conv3d, ConvTranspose3d
from .normalization3d import BatchNorm3d, InstanceNorm1d, InstanceNorm3d
from .padding3d import ConstantPad3d, ReflectionPad3d, ReplicationPad3d, ZeroPad3d
from .pooling3d import AdaptiveAvgPool3d, AvgPool3d, MaxPool3d
from .padding import (ConstantPad1d, ConstantPad2d, ReflectionPad1d, ReflectionPad2d,
                      ReplicationPad1d, ReplicationPad2d, ZeroPad1d, ZeroPad2d)
from .parameter_list import ParameterList
from .pooling1d import AdaptiveAvgPool1d, AvgPool1d, MaxPool1d
from .embedding import Embedding
from .layers_more import *  # noqa: E402,F401,F403  (its __all__: more layers)
from .layers_extra import *  # noqa: E402,F401,F403  (its __all__: still more layers)
from .module import Module, Parameter
from .module_dict import ModuleDict
from .normalization import (BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d,
                            LayerNorm)

from .sync_batchnorm import SyncBatchNorm
from .parallel import DataParallel
from .rnn_cell import GRUCell, LSTMCell, RNNCell, RNNCellBase
from .rnn import GRU, LSTM, RNN, RNNBase
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)

__all__ = ["SyncBatchNorm", "Module", "Parameter", "Sequential", "ModuleList", "Linear", "Conv2d",
           "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
           "InstanceNorm2d", "Dropout", "Dropout2d", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "Softplus", "Flatten", "Unflatten", "MaxPool2d", "AvgPool2d", "Upsample",
           "Identity", "init", "utils", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss",
           "NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "ELU", "GELU",
           "SiLU", "Embedding", "Conv1d", "AdaptiveAvgPool2d", "ModuleDict", "functional",
           "CELU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid", "LogSoftmax",
           "Mish", "PReLU", "ReLU6", "Softmax", "ConvTranspose1d", "ConstantPad1d",
           "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
           "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d", "ParameterList", "AdaptiveAvgPool1d",
           "AvgPool1d", "MaxPool1d"]
from . import layers_more as _layers_more  # noqa: E402

__all__ += _layers_more.__all__
from . import layers_extra as _layers_extra  # noqa: E402

__all__ += _layers_extra.__all__
__all__ += ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU",
            "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]
__all__ += ["TransformerDecoderLayer", "TransformerDecoder", "Transformer"]
__all__ += ["Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d",
            "BatchNorm3d", "InstanceNorm1d", "InstanceNorm3d", "ConstantPad3d", "ZeroPad3d",
            "ReflectionPad3d", "ReplicationPad3d"]

# ``import minicnn.nn.functional as F`` (PyTorch's spelling) is ``minicnn.functional``:
# one module under two names, so patching one patches the other.
import sys as _sys  # noqa: E402

from .. import functional  # noqa: E402

_sys.modules[__name__ + ".functional"] = functional
