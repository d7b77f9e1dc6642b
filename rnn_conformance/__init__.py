"""rnn-conformance: a property-based conformance suite for PyTorch-compatible RNNs.

The public modules, each with one concern and an ``__all__``:

* :mod:`rnn_conformance.config` and :mod:`rnn_conformance.strategies`: configurations and
  Hypothesis strategies for cases, usable in your own tests;
* :mod:`rnn_conformance.reference` and :mod:`rnn_conformance.backprop`: the NumPy float64
  reference forward and backward passes;
* :mod:`rnn_conformance.tolerances`: the error bounds and the comparison;
* :mod:`rnn_conformance.harness`: running a case on a target (``case_tensors``,
  ``run_target``);
* :mod:`rnn_conformance.runner`: the ``rnn-conformance`` command.

Importing this package imports nothing heavy: the pytest plugin loads it in every session.

PYTEST_DONT_REWRITE: this module has no assertions, and the runner imports it before it
starts pytest, which would otherwise warn on every run that it cannot rewrite it.
"""

__all__: list[str] = []
