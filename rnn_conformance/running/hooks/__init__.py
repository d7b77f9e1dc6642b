"""The pytest hooks of a session that runs the properties, one module per job.

The plugin (:mod:`rnn_conformance.plugin`) registers these only in sessions whose
arguments reach :mod:`rnn_conformance.properties`, and each hook acts only on the
properties, never on other tests of the same session:

* :mod:`~rnn_conformance.running.hooks.configure`: the profile, the run's settings (a bad one is a
  usage error naming the option), the header, the preflight;
* :mod:`~rnn_conformance.running.hooks.subjects`: every property runs once per subject (the
  ``subject`` fixture), drawing for that subject's family and declarations;
* :mod:`~rnn_conformance.running.hooks.gating`: properties needing a capability a target declared
  unsupported, or listed in the skips file, skip with the reason;
* :mod:`~rnn_conformance.running.hooks.known_failures`: the xfails file's entries are marked
  ``xfail(strict=True)``;
* :mod:`~rnn_conformance.running.hooks.time_limit`: a property that outlives
  ``--rnn-timeout`` fails;
* :mod:`~rnn_conformance.running.hooks.verdicts`: each report carries the structured facts the
  runner's report is made of.
"""

HOOK_MODULES = (
    "rnn_conformance.running.hooks.configure",
    "rnn_conformance.running.hooks.subjects",
    "rnn_conformance.running.hooks.gating",
    "rnn_conformance.running.hooks.known_failures",
    "rnn_conformance.running.hooks.time_limit",
    "rnn_conformance.running.hooks.verdicts",
    "rnn_conformance.running.run_guards",
)
"""The plugins a session that runs the properties registers, in order."""

__all__ = ["HOOK_MODULES"]
