"""The one tolerance policy every property shares, and comparisons that explain misses.

Policy
------
A target computing in a dtype with unit roundoff ``u`` (2**-24 for float32, 2**-53
for float64, 2**-8 for bfloat16, ...; :mod:`rnn_conformance.numerics.dtypes`) is compared with the
float64 reference run on *the same* weights, inputs and initial state (all rounded to the
target dtype first, so the only differences are rounding inside the computation). Every
element may differ by ``SAFETY * bound``, where ``bound`` is computed alongside the
reference, for every family alike:

* the reference's own computation (the shared layer loop and the family's cell step) is
  run again in an arithmetic whose values carry their first-order rounding errors
  (:mod:`~rnn_conformance.numerics.tolerances.rounding`, which states the local rounding of every
  operation: a gate pre-activation of ``n`` products and biases in any order is off by
  at most ``n * u * sum |terms|``, Higham's gamma_n; tanh and sigmoid by ``2 u |result|``;
  an elementwise product by ``u |result|``; every operation may also lose the dtype's
  smallest normal number);
* those local errors are propagated through the *linearised* computation of the actual
  weights and states, layer by layer and direction by direction, with random signs at
  their worst-case magnitudes, by ``PROBES`` probes (fixed seed, so deterministic); one
  probe instead gives every error the sign of its value (biased rounding adds up
  linearly), and an element's spread is the larger of that probe and the others' RMS;
* a relu pre-activation within its own error bound of zero may have the other sign in
  the target, so it counts as active (its error passes through);
* ``bound`` is the probes' spread for the element, plus the mean of that over the
  element's units (so no element is small by chance), plus its own one-step error.

So the bound grows with fan-in, hidden size, sequence length and depth exactly as far as
the recurrence amplifies errors, and shrinks where activations saturate. Measured on
nn.RNN float32 over random configurations, the largest error stays well below the allowed
error; computing in bfloat16 inside a float32 module exceeds it, and float32 inside a
float64 module by far more (tests/test_tolerances.py). ``SAFETY = 2``. On CUDA with TF32
allowed, products carry TF32's ``u = 2**-11`` instead (:class:`Precision`).

Gradients (:mod:`~rnn_conformance.numerics.tolerances.gradients`) are bounded the same way: the
reference's backward pass runs in the same arithmetic, continuing from the probed forward
computation, so the target's forward errors enter every derivative and weight gradient.

Declared activation accuracy
----------------------------
Some kernels compute tanh and the sigmoid by fast approximations whose error is
absolute, not relative (ONNX Runtime's CPU RNN kernel: up to about 3 u, so near zero it
is off by thousands of ulps). Such a target fails the policy above, which is a true
finding. A target may declare the accuracy it promises (attribute
``rnn_conformance_activation_error`` or ``--rnn-activation-error``, in units of u); that
absolute error is then added to the local error of every tanh and sigmoid, and shown in
the report header and every failure message. The default is 0.

Equivalences between two runs of the *target* (layouts, batch splitting) use twice the
bound, since each run is within one bound of the exact result. Identities that the
contract makes exact (``output[-1] == h_n[-1]``) use no tolerance at all.

Modules: :mod:`~rnn_conformance.numerics.tolerances.precision` (constants and per-dtype
rounding), :mod:`~rnn_conformance.numerics.tolerances.rounding` (the local rounding model),
:mod:`~rnn_conformance.numerics.tolerances.forward` and
:mod:`~rnn_conformance.numerics.tolerances.gradients` (the bounds),
:mod:`~rnn_conformance.numerics.tolerances.comparison` (comparisons and messages).
"""

from rnn_conformance.numerics.dtypes import dtype_name, unit_roundoff
from rnn_conformance.numerics.tolerances.comparison import (
    Mismatch,
    ToleranceError,
    assert_identical,
    assert_within,
    find_mismatch,
    leaves,
)
from rnn_conformance.numerics.tolerances.forward import ForwardBounds, forward_error_bounds
from rnn_conformance.numerics.tolerances.gradients import gradients_and_error_bounds
from rnn_conformance.numerics.tolerances.precision import (
    PROBES,
    REFERENCE_ROUNDOFF,
    SAFETY,
    Precision,
)

__all__ = [
    "PROBES",
    "REFERENCE_ROUNDOFF",
    "SAFETY",
    "ForwardBounds",
    "Mismatch",
    "Precision",
    "ToleranceError",
    "assert_identical",
    "assert_within",
    "dtype_name",
    "find_mismatch",
    "forward_error_bounds",
    "gradients_and_error_bounds",
    "leaves",
    "unit_roundoff",
]
