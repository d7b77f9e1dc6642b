"""rnn-conformance: a property-based conformance suite for PyTorch-compatible RNNs.

The layers, each a package, each importing only the layers above it in this list:

* :mod:`rnn_conformance.numerics`: what the right answer is and how far from it a float
  answer may be: the NumPy float64 reference and its hand-written backward pass, written
  once over the families' steps (:mod:`rnn_conformance.numerics.arithmetic`), the
  configuration and its shapes, the one tolerance policy, and the families
  (:mod:`rnn_conformance.numerics.families`, one module each, and their registry: where
  a new family plugs in);
* :mod:`rnn_conformance.generation`: which cases are checked: cases, the Hypothesis
  strategies that draw them (usable in your own tests) and the pinned cases;
* :mod:`rnn_conformance.transforms`: what is applied to the targets' modules before the
  properties see them (``torch.compile``, ``torch.export``), each call proven to run the
  transformed artefact;
* :mod:`rnn_conformance.harness`: running a case on a subject's target (``Subject``,
  ``case_tensors``, ``run_target``), the target specification and the devices;
  :mod:`rnn_conformance.repro` turns a recorded failing call into a standalone script;
* :mod:`rnn_conformance.running`: a session: options, subjects, pytest hooks by job,
  verdicts, reports and the ``rnn-conformance`` command.

:mod:`rnn_conformance.constants` holds the constants every layer shares, and
:mod:`rnn_conformance.properties` the properties themselves, one module per theme.
Every public module has an ``__all__``.

Importing this package imports nothing heavy: the pytest plugin loads it in every session.

PYTEST_DONT_REWRITE: this module has no assertions, and the runner imports it before it
starts pytest, which would otherwise warn on every run that it cannot rewrite it.
"""

__all__: list[str] = []
