"""Warnings as Python prints them to stderr: numpy's RuntimeWarnings on the way to a
NaN loss, a DeprecationWarning made visible, and a UserWarning of two lines."""
import logging
import warnings

import numpy as np

warnings.simplefilter("default")
logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
log = logging.getLogger("train")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def loss(p):
    return float(-np.log(p).mean())


log.info("step 1 loss=%.3f", loss(sigmoid(np.array([0.5, 2.0]))))
p = sigmoid(np.array([-1000.0, 3.0]))
log.info("step 2 loss=%s", loss(p - p))
warnings.warn("the 'lr' argument is deprecated; use 'learning_rate'", DeprecationWarning)
warnings.warn("dataset has 3 empty shards\nthey are skipped")
log.warning("loss is nan at step 2")
