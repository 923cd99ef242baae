import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# Hypothesis: no deadlines (CI shares 2 cores), a fixed derandomised profile in CI.
settings.register_profile(
    "ci", deadline=None, max_examples=60, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
