"""Standalone reproduction scripts: one Python file per failing property, for upstream issues.

While a property's Hypothesis example runs, a :class:`CallRecorder` (one more observer of
:mod:`rnn_conformance.harness.target_calls`) keeps a CPU copy of every call of the target: the
constructor arguments, the module's weights (its ``state_dict``), its training mode and
the call's arguments. :mod:`rnn_conformance.running.failures` starts a recorder for each example
and attaches it to the exception of a failing one; Hypothesis replays the minimal failing
example last, so the attached record is the minimal example's.

:func:`reproduction` turns that record into a script which imports only torch (and the
target's own module, never this suite): the constructor call, the weights and the call's
arguments as literals, and as the oracle torch's own module (or cell) of the family, built
with the same arguments and weights and called the same way. The script compares the two:

* results: type and structure (``(output, h_n)``, tuples, ``PackedSequence`` with its
  ``batch_sizes`` and indices), then shape, dtype and device of every tensor, then values
  within a tolerance stated as a number, derived from the suite's policy
  (:mod:`rnn_conformance.numerics.tolerances`) for that very call: each implementation may be off
  by ``SAFETY * bound`` from the exact result, so two may differ by twice that;
* errors: where torch's module raises type ``E``, the target must raise an ``E`` (not
  ``NotImplementedError``); where torch's returns, the target must not raise.

It exits 1 and prints the discrepancies while they are there, 0 once the target agrees.
Its first command-line argument (``module:attr``) replaces the target, so running it with
``torch.nn:LSTM`` passes. A script is written only once it has been checked, in the
worker, to fail for the failing target and pass for torch's class; the first recorded call
for which both hold is the one written. Where none does (the property's claim is not "the
same as torch on one call": gradients, dropout's randomness, initialisation statistics, a
relation between calls of the target; or the target *is* torch's class), no script is
written and :func:`reproduction` says why, which the report repeats.

Modules: :mod:`~rnn_conformance.repro.recording` (the record),
:mod:`~rnn_conformance.repro.replay` (which calls torch's class can replay, and the
tolerance), :mod:`~rnn_conformance.repro.literals` (values as Python source),
:mod:`~rnn_conformance.repro.scripts` and :mod:`~rnn_conformance.repro.templates` (the
script's text), :mod:`~rnn_conformance.repro.selection` (the call whose script is written).

>>> import torch
>>> from rnn_conformance.harness.target_calls import observing, watch_module
>>> module = torch.nn.RNN(1, 1)
>>> watch_module("torch.nn:RNN", module, {"input_size": 1, "hidden_size": 1})
>>> with observing(CallRecorder()) as recorder:
...     _ = module(torch.zeros(2, 1, 1))
>>> call = recorder.calls[0]
>>> call.spec, sorted(call.state)[:2], tuple(call.args[0].tensor.shape), call.training
('torch.nn:RNN', ['bias_hh_l0', 'bias_ih_l0'], (2, 1, 1), True)
"""

from rnn_conformance.repro.recording import (
    BUILDS,
    MAX_CALLS,
    BuildLog,
    CallRecorder,
    RecordedBuild,
    RecordedCall,
    RecordedPacked,
    RecordedTensor,
)
from rnn_conformance.repro.scripts import script_name
from rnn_conformance.repro.selection import (
    Reproduction,
    build_reproduction,
    reproduction,
)

# Not public: the self-tests (tests/test_repro_scripts.py) run scripts in-process with it.
from rnn_conformance.repro.selection import _exit_code as _exit_code

__all__ = [
    "BUILDS",
    "MAX_CALLS",
    "BuildLog",
    "CallRecorder",
    "RecordedBuild",
    "RecordedCall",
    "RecordedPacked",
    "RecordedTensor",
    "Reproduction",
    "build_reproduction",
    "reproduction",
    "script_name",
]
