"""Learning-rate schedules: callables `step -> learning rate` written with
ops, evaluated inside the traced train step from the optimizer's
iteration counter (so a schedule never forces a recompile).

Formulas and defaults are Keras 3's. `step` is the number of updates
already applied (the counter before the current step's increment).

Adding one: subclass `LearningRateSchedule`, implement `__call__(step)`
with ops (step is a float32 tensor) and `get_config()`, and add the class
to `ALL_OBJECTS`.
"""

from __future__ import annotations

import math

from .. import ops


class LearningRateSchedule:
    """Base class: `schedule(step)` returns the learning rate."""

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override "
            "`__call__(self, step)`."
        )

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override "
            "`get_config()` in order to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_steps(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: "
                         f"{name}={value}")


def _step(step):
    return ops.cast(step, "float32")


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps), the
    exponent floored when `staircase`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate,
                 staircase=False, name="ExponentialDecay"):
        _check_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = ops.divide(_step(step), float(self.decay_steps))
        if self.staircase:
            p = ops.floor(p)
        return ops.multiply(float(self.initial_learning_rate),
                            ops.power(float(self.decay_rate), p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while
    boundaries[i-1] < step <= boundaries[i], values[-1] after the last."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length "
                f"of values. Received: boundaries={boundaries} of length "
                f"{len(boundaries)}, and values={values} of length "
                f"{len(values)}."
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        s = _step(step)
        b = [float(x) for x in self.boundaries]
        v = [float(x) for x in self.values]

        def when(cond):
            return ops.cast(cond, "float32")

        out = ops.multiply(when(ops.less_equal(s, b[0])), v[0])
        out = ops.add(out, ops.multiply(when(ops.greater(s, b[-1])), v[-1]))
        for low, high, value in zip(b[:-1], b[1:], v[1:-1]):
            inside = ops.logical_and(ops.greater(s, low),
                                     ops.less_equal(s, high))
            out = ops.add(out, ops.multiply(when(inside), value))
        return out

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values,
                "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end; with
    `cycle`, decay_steps grows to the next multiple past step."""

    def __init__(self, initial_learning_rate, decay_steps,
                 end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _check_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        s = _step(step)
        steps = float(self.decay_steps)
        if self.cycle:
            mult = ops.where(ops.equal(s, 0.0), ops.ones_like(s),
                             ops.ceil(ops.divide(s, steps)))
            decay_steps = ops.multiply(mult, steps)
        else:
            s = ops.minimum(s, steps)
            decay_steps = steps
        p = ops.divide(s, decay_steps)
        span = float(self.initial_learning_rate) - float(self.end_learning_rate)
        return ops.add(ops.multiply(span, ops.power(ops.subtract(1.0, p),
                                                    float(self.power))),
                       float(self.end_learning_rate))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps), the
    ratio floored when `staircase`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate,
                 staircase=False, name="InverseTimeDecay"):
        _check_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = ops.divide(_step(step), float(self.decay_steps))
        if self.staircase:
            p = ops.floor(p)
        return ops.divide(float(self.initial_learning_rate),
                          ops.add(1.0, ops.multiply(float(self.decay_rate), p)))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


def _cosine(fraction):
    return ops.multiply(ops.add(ops.cos(ops.multiply(fraction, math.pi)), 1.0),
                        0.5)


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or, with `warmup_target`, a
    linear warmup over `warmup_steps` to it first) down to
    `alpha * rate` at `decay_steps`, then constant."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0,
                 name="CosineDecay", warmup_target=None, warmup_steps=0):
        _check_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, s, start_lr):
        decayed = ops.add(ops.multiply(
            _cosine(ops.divide(s, float(self.decay_steps))),
            1.0 - float(self.alpha)), float(self.alpha))
        return ops.multiply(decayed, start_lr)

    def __call__(self, step):
        s = _step(step)
        init = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(ops.minimum(s, float(self.decay_steps)), init)
        target = float(self.warmup_target)
        warm = float(self.warmup_steps)
        s = ops.minimum(s, float(self.decay_steps) + warm)
        # NOTE: warmup_steps=0 never selects the warmup branch; the division
        # is guarded so that it cannot produce a NaN either way.
        warmup = ops.add(ops.multiply(ops.divide(s, max(warm, 1e-30)),
                                      target - init), init)
        decay = self._decay(ops.subtract(s, warm), target)
        return ops.where(ops.less(s, warm), warmup, decay)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods grow by `t_mul`,
    restart peaks scale by `m_mul`."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0,
                 m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        _check_steps("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        frac = ops.divide(_step(step), float(self.first_decay_steps))
        t_mul = float(self._t_mul)
        if t_mul == 1.0:
            i_restart = ops.floor(frac)
            frac = ops.subtract(frac, i_restart)
        else:
            i_restart = ops.floor(ops.divide(
                ops.log(ops.subtract(1.0, ops.multiply(frac, 1.0 - t_mul))),
                math.log(t_mul)))
            sum_r = ops.divide(ops.subtract(1.0, ops.power(t_mul, i_restart)),
                               1.0 - t_mul)
            frac = ops.divide(ops.subtract(frac, sum_r),
                              ops.power(t_mul, i_restart))
        m_fac = ops.power(float(self._m_mul), i_restart)
        cosine = ops.multiply(_cosine(frac), m_fac)
        decayed = ops.add(ops.multiply(cosine, 1.0 - float(self.alpha)),
                          float(self.alpha))
        return ops.multiply(decayed, float(self.initial_learning_rate))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul,
                "alpha": self.alpha, "name": self.name}


ALL_OBJECTS = {c.__name__: c for c in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
    InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(schedule) -> dict:
    return {"module": "keras.optimizers.schedules",
            "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A schedule from its serialized dict."""
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or ALL_OBJECTS.get(name)
    if cls is None:
        from ..serialization import unknown

        raise unknown("learning rate schedule", name, ALL_OBJECTS)
    return cls.from_config(config.get("config", {}))


__all__ = ["CosineDecay", "CosineDecayRestarts", "ExponentialDecay",
           "InverseTimeDecay", "LearningRateSchedule", "PiecewiseConstantDecay",
           "PolynomialDecay", "deserialize", "serialize"]


# the family serialization finds its objects in (frontend/families.py)
from ..families import register_family as _register_family  # noqa: E402

_register_family("schedules", "keras.optimizers.schedules", LearningRateSchedule,
                 globals())
