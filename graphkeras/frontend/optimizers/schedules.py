"""Learning-rate schedules: callables `step -> learning rate` written with
ops, evaluated inside the traced train step from the optimizer's
iteration counter (so a schedule never forces a recompile).

Adding one: subclass `LearningRateSchedule`, implement `__call__(step)`
with ops (step is a float32 tensor) and `get_config()`.
"""

from __future__ import annotations

from .. import ops


class LearningRateSchedule:
    def __call__(self, step):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate,
                 staircase=False, name="ExponentialDecay"):
        if decay_steps <= 0:
            raise ValueError(
                "Argument `decay_steps` must be > 0. Received: "
                f"decay_steps={decay_steps}"
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = float(decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = ops.divide(ops.cast(step, "float32"), self.decay_steps)
        if self.staircase:
            p = ops.floor(p)
        return ops.multiply(ops.power(self.decay_rate, p),
                            self.initial_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}
