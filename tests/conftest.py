"""Test configuration: a deterministic hypothesis profile by default (CI),
`HYPOTHESIS_PROFILE=dev` for random exploration; pass verification on."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=30,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests always verify the program after every pass of run_pipeline.
os.environ.setdefault("GRAPHKERAS_VERIFY", "1")
