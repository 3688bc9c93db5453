"""Optimizers (``torch.optim``-shaped): SGD, RMSprop, Adam, AdamW, Adadelta, Adagrad,
Adamax, NAdam, RAdam, Rprop, ASGD, learning-rate schedulers, ``swa_utils`` (weight
averaging) and the L1/L2 penalty helpers."""
from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from .asgd import ASGD
from .lbfgs import LBFGS
from .rprop import Rprop
from .optimizer import Optimizer
from .regularization import l1_penalty, l2_penalty
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adadelta", "Adagrad", "Adamax",
           "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS",
           "lr_scheduler", "swa_utils", "l1_penalty", "l2_penalty"]
