"""How many examples a Hypothesis property runs: its own number in `make test`, a quarter in
`make test-unit` (profile "unit", loaded by tests/conftest.py for `-m unit`).

    @settings(max_examples=examples(300), deadline=None)

A property's explicit max_examples would override any profile, hence this helper. Each run
draws fresh examples and replays the failures saved in .hypothesis/, so the quick runs add up;
the full run keeps every property's whole budget. `--hypothesis-profile=...` picks one by hand.
"""
from hypothesis import settings

FULL = 100  # Hypothesis' own default max_examples, the measure `examples` scales from

settings.register_profile("full", max_examples=FULL)
settings.register_profile("unit", max_examples=FULL // 4)


def examples(full: int) -> int:
    """`full` scaled by the loaded profile: itself under "full", a quarter (>= 10) under "unit"."""
    scaled = full * settings.default.max_examples // FULL
    return scaled if scaled >= full else min(full, max(10, scaled))
