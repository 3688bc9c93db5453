"""Neural-network building blocks: ``Module``, ``Parameter``, layers, containers, ``init``
and ``utils`` (spectral norm, gradient clipping), PyTorch-shaped (``torch.nn``)."""
from . import init, parallel, utils
from .containers import ModuleList, Sequential
from .layers import (AvgPool2d, Conv2d, ConvTranspose2d, Dropout, Dropout2d, Flatten,
                     Identity, LeakyReLU, Linear, MaxPool2d, ReLU, Sigmoid, Softplus, Tanh,
                     Unflatten, Upsample)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                   NLLLoss, SmoothL1Loss)
from .module import Module, Parameter
from .normalization import (BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d,
                            LayerNorm)

from .sync_batchnorm import SyncBatchNorm

__all__ = ["SyncBatchNorm", "Module", "Parameter", "Sequential", "ModuleList", "Linear", "Conv2d",
           "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
           "InstanceNorm2d", "Dropout", "Dropout2d", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "Softplus", "Flatten", "Unflatten", "MaxPool2d", "AvgPool2d", "Upsample",
           "Identity", "init", "utils", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss",
           "NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss"]
