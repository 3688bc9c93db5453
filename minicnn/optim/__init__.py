"""Optimizers (``torch.optim``-shaped): SGD, RMSprop, Adam, AdamW, Adadelta, Adagrad,
learning-rate schedulers, and the L1/L2 penalty helpers."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .regularization import l1_penalty, l2_penalty
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adadelta", "Adagrad",
           "lr_scheduler", "l1_penalty", "l2_penalty"]
