"""Each deliberately broken RNN in broken_rnns.py fails the properties that guard its bug."""

from pathlib import Path

import pytest

CASES = [
    ("HiddenStateBatchFirstRNN", "test_output_and_h_n_shapes", "returned h_n with shape"),
    (
        "BFloat16InsideRNN",
        "test_output_and_h_n_match_reference",
        "differs from the float64 reference",
    ),
    (
        "Float32InsideRNN",
        "test_output_and_h_n_match_reference",
        "differs from the float64 reference",
    ),
    ("IgnoresHxRNN", "test_output_and_h_n_match_reference", "differs from the float64 reference"),
    (
        "UnreversedReverseRNN",
        "test_output_and_h_n_match_reference",
        "differs from the float64 reference",
    ),
    (
        "UnreversedReverseRNN",
        "test_bidirectional_output_ends_are_last_layer_h_n",
        "reverse direction's final state is not at output[0]",
    ),
    (
        "PerturbedHiddenStateRNN",
        "test_unidirectional_last_output_is_last_layer_h_n",
        "output[-1] != h_n[-1]",
    ),
    (
        "WrongStackingRNN",
        "test_output_and_h_n_match_reference",
        "differs from the float64 reference",
    ),
    ("ReturnsOutputOnlyRNN", "test_missing_hx_equals_zeros", "expected a pair (output, h_n)"),
    ("NarrowInitRNN", "test_initialisation_is_uniform", "initial values are not U(-k, k)"),
    ("NormalInitRNN", "test_initialisation_is_uniform", "initial values are not U(-k, k)"),
    ("MutatesInputRNN", "test_forward_does_not_modify", "forward modified its input"),
    ("LeaksFutureRNN", "test_outputs_do_not_depend_on_the_future", "(causality)"),
    ("ReshapeNotTransposeRNN", "test_batch_first_is_a_transpose", "batch_first transposes"),
    (
        "UnbatchedStepsAsBatchRNN",
        "test_unbatched_equals_batched_of_one",
        "unbatched input equals batched input",
    ),
    ("StatefulWhenHxMissingRNN", "test_missing_hx_equals_zeros", "equals hx=zeros"),
    ("IgnoresFactoryDtypeRNN", "test_parameters_have_nn_rnn_names", "has dtype torch.float32"),
    ("KeepProbabilityDropoutRNN", "test_constructor_arguments_are_exposed", "attribute dropout is"),
    ("ClampsDropoutRNN", "test_bad_constructor_arguments_raise", "DID NOT RAISE"),
    ("LeakyReluRNN", "test_outputs_stay_in_the_nonlinearity_range", "values outside [0.0, inf]"),
    ("NondeterministicRNN", "test_repeated_calls_are_deterministic", "a second identical call"),
    ("IgnoresHxRNN", "test_chunked_evaluation_equals_whole_sequence", "running chunks split"),
    ("TruncatedBPTTRNN", "test_gradients_match_reference_bptt", "differs from the reference's"),
    (
        "DirectionMajorHxRNN",
        "test_stacked_layers_equal_chained_single_layers",
        "one-layer RNNs chained",
    ),
    ("BatchMeanLeakRNN", "test_each_sequence_is_independent", "run alone give the same"),
    ("LenientHxRNN", "test_invalid_calls_raise_like_nn_rnn", "instead of raising like nn.RNN"),
    ("DropoutOnLastLayerRNN", "test_training_dropout_acts_only_between_layers", "was dropped"),
    ("PaddedEndHnRNN", "test_packed_sequences_run_as_if_alone", "h_n of sequence"),
    ("UnreversedReverseRNN", "test_bidirectional_equals_forward_and_flipped", "flip(x)"),
    # One kind of bad call each (-k on its parametrize id) keeps these fast; "hx with wrong
    # hidden size" expects RuntimeError, which these three passed before a valid call
    # was required first and NotImplementedError was refused.
    (
        "NotImplementedForwardRNN",
        "test_invalid_calls_raise_like_nn_rnn and hidden",
        "rejected a valid call",
    ),
    (
        "RejectsEverythingRNN",
        "test_invalid_calls_raise_like_nn_rnn and hidden",
        "rejected a valid call",
    ),
    (
        "RejectsEveryConstructionRNN",
        "test_bad_constructor_arguments_raise_like_nn_rnn and nonlinearity",
        "raised ValueError: this configuration is not supported",
    ),
    (
        "NotImplementedForBadCallsRNN",
        "test_invalid_calls_raise_like_nn_rnn and hidden",
        "NotImplementedError says a feature is missing",
    ),
    (
        "BroadcastsHxBatchRNN",
        "test_invalid_calls_raise_like_nn_rnn and batch and size",
        "[hx with wrong batch size] returned",
    ),
    (
        "BroadcastsInputFeatureRNN",
        "test_invalid_calls_raise_like_nn_rnn and feature",
        "feature size] returned",
    ),
    ("NoReducedPrecisionRNN", "test_reduced_precision_matches_reference", "must declare it"),
    (
        "SameMaskEveryStepRNN",
        "test_training_dropout_draws_a_fresh_mask_at_every_step",
        "reused across time steps",
    ),
    (
        "PerDirectionMaskRNN",
        "test_both_directions_of_the_next_layer_read_the_same_dropped_output",
        "read different dropout masks",
    ),
]

CELL_CASES = [
    ("NoHiddenBiasCell", "test_rnn_cell_matches_reference", "differs from the reference cell"),
    ("NoHiddenBiasCell", "test_cell_steps_reproduce_one_layer_rnn", "stepping broken_rnns"),
]


def _run_properties(pytester, monkeypatch, option, impl, prop, *extra):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    return pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        "--hypothesis-profile=ci",
        option,
        f"broken_rnns:{impl}",
        "-k",
        prop,
        *extra,
    )


def _assert_caught(result, message):
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1, result.stdout.str()[-3000:]
    assert message in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()


@pytest.mark.parametrize(("impl", "prop", "message"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_broken_implementation_fails_its_property(pytester, monkeypatch, impl, prop, message):
    _assert_caught(_run_properties(pytester, monkeypatch, "--rnn-impl", impl, prop), message)


@pytest.mark.parametrize(
    ("impl", "prop", "message"), CELL_CASES, ids=[f"{c[0]}-{c[1]}" for c in CELL_CASES]
)
def test_broken_cell_fails_its_property(pytester, monkeypatch, impl, prop, message):
    _assert_caught(_run_properties(pytester, monkeypatch, "--rnn-cell-impl", impl, prop), message)


def test_declared_reduced_precision_gap_is_skipped_with_the_capability_named(pytester, monkeypatch):
    # The same refusal as NoReducedPrecisionRNN's, declared: a gap, not a failure.
    result = _run_properties(
        pytester,
        monkeypatch,
        "--rnn-impl",
        "DeclaredNoReducedPrecisionRNN",
        "test_reduced_precision_matches_reference",
        "-rs",
    )
    result.stdout.fnmatch_lines(
        [
            "*SKIPPED*target declares unsupported capability: float16*",
            "*SKIPPED*target declares unsupported capability: bfloat16*",
        ]
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped") == 2
    assert "failed" not in outcomes
    assert "passed" not in outcomes
