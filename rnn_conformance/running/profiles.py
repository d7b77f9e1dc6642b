"""The suite's Hypothesis profiles, registered once when this module is imported.

``dev`` (10 examples), ``default`` (100), ``ci`` (100, derandomized, ``print_blob``, no
database) and ``thorough`` (1000). The session hooks load ``ci`` when ``$CI`` is set, else
``default``, unless ``--hypothesis-profile`` names one.

>>> PROFILES["thorough"].max_examples
1000
"""

from __future__ import annotations

from hypothesis import Phase, settings

__all__ = ["PROFILES"]

# No per-example deadline: building an RNN and a first call on a new shape take
# unpredictable time (allocator warm-up, xdist load), and a deadline would make the suite
# flaky; hangs are caught by --rnn-timeout instead. No explain phase: its line tracer
# swallowed the exception that --rnn-timeout raises inside a hanging target (measured: a
# looping forward under gradcheck never stopped), and the lines it prints point into the
# suite, not into the implementation under test.
_PHASES = tuple(phase for phase in Phase if phase.name != "explain")
PROFILES = {
    "dev": settings(max_examples=10, deadline=None, phases=_PHASES),
    "default": settings(max_examples=100, deadline=None, phases=_PHASES),
    "ci": settings(
        max_examples=100,
        deadline=None,
        phases=_PHASES,
        derandomize=True,
        database=None,
        print_blob=True,
    ),
    "thorough": settings(max_examples=1000, deadline=None, phases=_PHASES),
}
"""The suite's Hypothesis profiles by name."""


for _name, _profile in PROFILES.items():
    settings.register_profile(_name, _profile)
