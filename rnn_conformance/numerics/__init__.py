"""The numerics: what the right answer is, and how far from it a float answer may be.

NumPy only, never torch's kernels, so that the reference can catch torch's own bugs.

* :mod:`~rnn_conformance.numerics.arithmetic`: the seam a family's step is written
  against, exact (float64) or probing (a rounding model);
* :mod:`~rnn_conformance.numerics.config`: a module's constructor configuration and every
  shape derived from it (the one home of shapes);
* :mod:`~rnn_conformance.numerics.reference` and :mod:`~rnn_conformance.numerics.backprop`:
  the float64 forward pass over the families' steps, and its hand-written backward pass;
* :mod:`~rnn_conformance.numerics.layouts`, :mod:`~rnn_conformance.numerics.parameters`,
  :mod:`~rnn_conformance.numerics.dtypes`: state tuples and time-major layouts, parameter
  names, the dtype table;
* :mod:`~rnn_conformance.numerics.tolerances`: the one tolerance policy and the comparison;
* :mod:`~rnn_conformance.numerics.families`: the recurrent families, one module each, and
  their registry: where a new family plugs in.
"""
