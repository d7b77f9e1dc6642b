"""The generation: which cases are checked.

* :mod:`~rnn_conformance.generation.cases`: a case (configuration, weights, input, state);
* :mod:`~rnn_conformance.generation.strategies` and
  :mod:`~rnn_conformance.generation.strategy_arguments`: the Hypothesis strategies that draw
  them, and the validation of their arguments;
* :mod:`~rnn_conformance.generation.known_cases`: the pinned cases every run checks;
* :mod:`~rnn_conformance.generation.drawing`: which subject's family and gaps a strategy
  draws for while a property runs;
* :mod:`~rnn_conformance.generation.capabilities`: the capabilities a target may declare
  it lacks, and what each one rules out of the draws.
"""
