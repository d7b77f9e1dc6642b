"""The one table of deliberately broken implementations and the properties that catch them.

Each :class:`Broken` entry says: this implementation (a class in ``tests/broken_rnns.py``,
or ``tests/broken_lstms.py`` for family ``lstm`` and ``tests/broken_grus.py`` for ``gru``,
whose docstring describes its defect)
must fail this property, with a failure message containing this fragment, because its
defect breaks this claim. The self-test
``tests/test_broken_implementations_are_caught.py`` runs every entry, and the list of
caught bugs in ``docs/caught-bugs.md`` (:data:`CAUGHT_BUGS`) is rendered from this table:
after editing it, run::

    python tests/broken_catalogue.py          # rewrites the section of docs/caught-bugs.md

``tests/test_broken_implementations_are_caught.py`` fails while that page differs.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAUGHT_BUGS = ROOT / "docs" / "caught-bugs.md"
"""The page the table is rendered into, between :data:`BEGIN` and :data:`END`."""
PROPERTIES = ROOT / "rnn_conformance" / "properties"
BEGIN = (
    "<!-- broken-catalogue: rendered from tests/broken_catalogue.py by "
    "`python tests/broken_catalogue.py`; edit the table there -->"
)
END = "<!-- end broken-catalogue -->"

MODULES = {"rnn": "broken_rnns", "lstm": "broken_lstms", "gru": "broken_grus"}
"""The module in ``tests/`` holding each family's broken implementations."""


@dataclass(frozen=True)
class Broken:
    """One broken implementation that one property must catch."""

    implementation: str
    """A class in the family's module (:data:`MODULES`); its docstring describes the defect."""
    property: str
    """The property (test function in ``rnn_conformance/properties/``) that must fail."""
    message: str
    """A fragment of the failure message the property must print."""
    claim: str
    """One line: the claim of the property that the defect breaks."""
    select: str = ""
    """Extra ``-k`` terms choosing some of the property's parametrised cases (for speed)."""
    also: tuple[str, ...] = ()
    """Other message fragments showing the same defect: the minimal example Hypothesis
    reaches differs between the versions CI runs (the oldest's shrinker stops earlier)."""
    cell: bool = False
    """The implementation is a cell target (``--rnn-cell-impl``), not a module target."""
    family: str = "rnn"
    """The recurrent family it runs as (``--rnn-family``); it lives in ``MODULES[family]``."""

    @property
    def option(self) -> str:
        """The pytest option that makes it the target."""
        return "--rnn-cell-impl" if self.cell else "--rnn-impl"

    @property
    def module(self) -> str:
        """The module in ``tests/`` that defines the implementation."""
        return MODULES[self.family]

    @property
    def target(self) -> str:
        """The implementation as the option's ``module:attr`` value."""
        return f"{self.module}:{self.implementation}"

    @property
    def family_options(self) -> tuple[str, ...]:
        """The pytest options selecting its family (none for the default, ``rnn``)."""
        return () if self.family == "rnn" else ("--rnn-family", self.family)

    @property
    def keyword(self) -> str:
        """The ``-k`` expression selecting the property (and its chosen cases)."""
        return f"{self.property} and {self.select}" if self.select else self.property

    @property
    def id(self) -> str:
        """The self-test's parameter id."""
        return f"{self.implementation}-{self.keyword}"


REFERENCE = "differs from the float64 reference"
BAD_CALLS = "test_invalid_calls_raise_like_nn_rnn"
DEFAULTS = "test_modules_built_with_only_the_required_arguments_have_nn_defaults"

CATALOGUE: tuple[Broken, ...] = (
    # test_shapes.py
    Broken(
        "HiddenStateBatchFirstRNN",
        "test_output_and_h_n_shapes",
        "returned h_n with shape",
        "h_n's shape follows nn.RNN's table: batch_first never applies to h_n",
    ),
    # test_reference_agreement.py
    Broken(
        "BFloat16InsideRNN",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "a float32 module computes to float32 accuracy (the tolerance policy)",
    ),
    Broken(
        "Float32InsideRNN",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "a float64 module computes to float64 accuracy (the tolerance policy)",
    ),
    Broken(
        "IgnoresHxRNN",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output and h_n are the reference's, which starts from the given h_0",
    ),
    Broken(
        "UnreversedReverseRNN",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output and h_n are the reference's, whose reverse direction runs backwards in time",
    ),
    Broken(
        "WrongStackingRNN",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output and h_n are the reference's, in which layer k reads layer k-1's output",
        # Layer 1 reading the input instead of layer 0's output: a shape error where sizes differ.
        also=("mat1 and mat2 shapes cannot be multiplied",),
    ),
    Broken(
        "InputForgetSwappedLSTM",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output, h_n and c_n are the reference's, whose gate rows are i, f, g, o",
        family="lstm",
    ),
    Broken(
        "IdentityProjectionLSTM",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output, h_n and c_n are the reference's, which projects h by weight_hr",
        family="lstm",
    ),
    Broken(
        "IgnoresCellStateLSTM",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output, h_n and c_n are the reference's, which starts from the given (h_0, c_0)",
        family="lstm",
    ),
    Broken(
        "NoForgetGateHiddenBiasLSTM",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output, h_n and c_n are the reference's, whose four gates each add bias_ih and bias_hh",
        family="lstm",
    ),
    Broken(
        "ResetBeforeHiddenLinearGRU",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output and h_n are the reference's, whose reset gate multiplies W_hn h + b_hn",
        family="gru",
    ),
    Broken(
        "ResetUpdateSwappedGRU",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output and h_n are the reference's, whose gate rows are r, z, n",
        family="gru",
    ),
    Broken(
        "FlippedUpdateGRU",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output and h_n are the reference's, whose update is h' = (1 - z) * n + z * h",
        family="gru",
    ),
    Broken(
        "HiddenBiasOutsideResetGRU",
        "test_output_and_h_n_match_reference",
        REFERENCE,
        "output and h_n are the reference's, in which the reset gate multiplies b_hn too",
        family="gru",
    ),
    # test_last_step_identities.py
    Broken(
        "PerturbedHiddenStateRNN",
        "test_unidirectional_last_output_is_last_layer_h_n",
        "output[-1] != h_n[-1]",
        "unidirectional output[-1] equals h_n[-1] exactly",
    ),
    Broken(
        "UnreversedReverseRNN",
        "test_bidirectional_output_ends_are_last_layer_h_n",
        "reverse direction's final state is not at output[0]",
        "the reverse direction's final state is at output[0]",
    ),
    Broken(
        "CellStateAsHiddenStateLSTM",
        "test_unidirectional_last_output_is_last_layer_h_n",
        "output[-1] != h_n[-1]",
        "h_n, the first part of nn.LSTM's (h_n, c_n), is the last step's output",
        family="lstm",
    ),
    # test_layout_equivalences.py
    Broken(
        "ReshapeNotTransposeRNN",
        "test_batch_first_is_a_transpose",
        "batch_first transposes",
        "batch_first is a transpose of the time-major layout",
    ),
    Broken(
        "UnbatchedStepsAsBatchRNN",
        "test_unbatched_equals_batched_of_one",
        "unbatched input equals batched input",
        "unbatched input equals a batch of one",
    ),
    Broken(
        "StatefulWhenHxMissingRNN",
        "test_missing_hx_equals_zeros",
        "equals hx=zeros",
        "an omitted hx, None and zeros agree",
    ),
    Broken(
        "ReturnsOutputOnlyRNN",
        "test_missing_hx_equals_zeros",
        "expected a pair (output, h_n)",
        "forward returns an (output, h_n) pair (checked on every call)",
    ),
    # test_parameters_and_init.py
    Broken(
        "IgnoresFactoryDtypeRNN",
        "test_parameters_have_nn_rnn_names_order_shapes_dtype_and_device",
        "has dtype torch.float32",
        "parameters have the dtype the constructor was given",
    ),
    Broken(
        "KeepProbabilityDropoutRNN",
        "test_constructor_arguments_are_exposed_as_attributes",
        "attribute dropout is",
        "constructor arguments are exposed unchanged as attributes",
    ),
    Broken(
        "NarrowInitRNN",
        "test_initialisation_is_uniform_within_one_over_sqrt_hidden",
        "initial values are not U(-k, k)",
        "parameters start as U(-k, k), k = 1/sqrt(hidden_size)",
    ),
    Broken(
        "NormalInitRNN",
        "test_initialisation_is_uniform_within_one_over_sqrt_hidden",
        "initial values are not U(-k, k)",
        "parameters start as U(-k, k): uniform, not merely within the bounds",
    ),
    Broken(
        "ClampsDropoutRNN",
        "test_bad_constructor_arguments_raise_like_nn_rnn",
        "the target returned a module (ClampsDropoutRNN) instead of raising ValueError",
        "invalid constructor arguments raise nn.RNN's exception",
    ),
    Broken(
        "AcceptsZeroLayersRNN",
        "test_bad_constructor_arguments_raise_like_nn_rnn",
        "claim: nn.RNN rejects num_layers=0 with ValueError, and so must the target",
        "num_layers=0 raises nn.RNN's ValueError; the failure names claim, call and outcomes",
        select="num_layers",
    ),
    # test_constructor_defaults.py
    Broken(
        "BatchFirstByDefaultRNN",
        DEFAULTS,
        "does not have nn.RNN's defaults: attribute batch_first=True (nn's default False)",
        "a module built with only the required arguments has nn.RNN's batch_first=False",
    ),
    Broken(
        "DoubleByDefaultRNN",
        DEFAULTS,
        "in torch.get_default_dtype() = torch.float32",
        "a module built without dtype= has its parameters in torch's default dtype",
    ),
    Broken(
        "NoBiasByDefaultLSTM",
        DEFAULTS,
        "attribute bias=False (nn's default True)",
        "a module built with only the required arguments has nn.LSTM's bias=True",
        family="lstm",
    ),
    Broken(
        "TwoLayersByDefaultGRU",
        DEFAULTS,
        "attribute num_layers=2 (nn's default 1)",
        "a module built with only the required arguments has nn.GRU's num_layers=1",
        family="gru",
    ),
    Broken(
        "OmittedBatchFirstGRU",
        DEFAULTS,
        "does not behave as nn.GRU with its defaults on a sequence-first batched input",
        "a module built with only the required arguments computes as nn.GRU's defaults do",
        family="gru",
    ),
    # test_invariants.py
    Broken(
        "LeakyReluRNN",
        "test_outputs_stay_in_the_nonlinearity_range",
        "values outside [0.0, inf]",
        "relu outputs are >= 0",
    ),
    Broken(
        "UnnormalisedUpdateGRU",
        "test_outputs_stay_in_the_nonlinearity_range",
        "values outside [-1.0, 1.0]",
        "nn.GRU's h stays in [-1, 1] from any h_0 in [-1, 1]",
        family="gru",
    ),
    Broken(
        "NondeterministicRNN",
        "test_repeated_calls_are_deterministic",
        "a second identical call",
        "identical calls give bitwise identical results",
    ),
    Broken(
        "MutatesInputRNN",
        "test_forward_does_not_modify_input_or_hx",
        "forward modified its input",
        "forward leaves its input and hx unmodified",
    ),
    # test_streaming_and_causality.py
    Broken(
        "LeaksFutureRNN",
        "test_outputs_do_not_depend_on_the_future",
        "(causality)",
        "the output at step t does not depend on later steps",
    ),
    Broken(
        "IgnoresHxRNN",
        "test_chunked_evaluation_equals_whole_sequence",
        "running chunks split",
        "running chunks with the carried h_n equals running the whole sequence",
    ),
    # test_decompositions.py
    Broken(
        "DirectionMajorHxRNN",
        "test_stacked_layers_equal_chained_single_layers",
        "one-layer RNNs chained",
        "stacking equals chained one-layer RNNs, with h_0 and h_n layer-major",
    ),
    Broken(
        "UnreversedReverseRNN",
        "test_bidirectional_equals_forward_and_flipped_reverse",
        "flip(x)",
        "bidirectional equals a forward RNN and a reverse RNN on flipped x",
    ),
    Broken(
        "NoHiddenBiasCell",
        "test_cell_steps_reproduce_one_layer_rnn",
        "stepping broken_rnns",
        "stepping the cell equals a one-layer RNN",
        cell=True,
    ),
    # test_rnn_cell.py
    Broken(
        "NoHiddenBiasCell",
        "test_rnn_cell_matches_reference",
        "differs from the reference cell",
        "the cell target matches the reference cell step",
        cell=True,
    ),
    Broken(
        "SwappedStateLSTMCell",
        "test_rnn_cell_matches_reference",
        "differs from the reference cell",
        "the cell target returns the reference cell step's (h', c'), in that order",
        cell=True,
        family="lstm",
    ),
    Broken(
        "HiddenBiasOutsideResetGRUCell",
        "test_rnn_cell_matches_reference",
        "differs from the reference cell",
        "the cell target matches the reference cell step, whose reset gate multiplies b_hn too",
        cell=True,
        family="gru",
    ),
    # test_batch_independence.py
    Broken(
        "BatchMeanLeakRNN",
        "test_each_sequence_is_independent_of_the_rest_of_the_batch",
        "run alone give the same",
        "any subset of the batch run alone gives its results",
    ),
    # test_forward_errors.py: one kind of bad call each (-k on its parametrize id) keeps
    # these fast. "hx with wrong hidden size" expects RuntimeError, which the first three
    # passed before a valid call was required first and NotImplementedError was refused.
    Broken(
        "LenientHxRNN",
        BAD_CALLS,
        "instead of raising like nn.RNN",
        "an hx of the wrong rank raises nn.RNN's exception",
    ),
    Broken(
        "NotImplementedForwardRNN",
        BAD_CALLS,
        "rejected a valid call",
        "a bad call counts only after the same module accepted its valid counterpart",
        select="hidden",
    ),
    Broken(
        "RejectsEverythingRNN",
        BAD_CALLS,
        "rejected a valid call",
        "a bad call counts only after the same module accepted its valid counterpart",
        select="hidden",
    ),
    Broken(
        "NotImplementedForBadCallsRNN",
        BAD_CALLS,
        "NotImplementedError says a feature is missing",
        "NotImplementedError is never accepted as nn.RNN's exception",
        select="hidden",
    ),
    Broken(
        "BroadcastsHxBatchRNN",
        BAD_CALLS,
        "[hx with wrong batch size] returned",
        "an hx of batch size 1 is rejected, not broadcast over the batch",
        select="batch and size",
    ),
    Broken(
        "BroadcastsInputFeatureRNN",
        BAD_CALLS,
        "feature size] returned",
        "input with one feature is rejected, not broadcast over input_size",
        select="feature",
    ),
    Broken(
        "SingleTensorHxLSTM",
        BAD_CALLS,
        "[hx a single tensor, not a tuple of the state's parts] returned",
        "nn.LSTM's hx is the tuple (h_0, c_0): a bare tensor is rejected",
        select="single",
        family="lstm",
    ),
    Broken(
        "ExtraStatePartsLSTM",
        BAD_CALLS,
        "[hx with one part too many] returned",
        "nn.LSTM's hx has exactly two parts: a third is rejected, not ignored",
        select="many",
        family="lstm",
    ),
    Broken(
        "TupleHxGRU",
        BAD_CALLS,
        "[hx a tuple, not a tensor] returned",
        "nn.GRU's hx is one tensor: a tuple is rejected (AttributeError, as torch raises)",
        select="tuple",
        family="gru",
    ),
    # test_dropout.py
    Broken(
        "DropoutOnLastLayerRNN",
        "test_training_dropout_acts_only_between_layers",
        "was dropped",
        "training dropout acts only between layers, never on the last layer's output",
    ),
    Broken(
        "SameMaskEveryStepRNN",
        "test_training_dropout_draws_a_fresh_mask_at_every_step",
        "reused across time steps",
        "training dropout draws a fresh mask at every step",
    ),
    Broken(
        "PerDirectionMaskRNN",
        "test_both_directions_of_the_next_layer_read_the_same_dropped_output",
        "read different dropout masks",
        "both directions of the next layer read one dropped tensor",
    ),
    Broken(
        "SameMaskEveryStepLSTM",
        "test_training_dropout_draws_a_fresh_mask_at_every_step",
        "reused across time steps",
        "training dropout draws a fresh mask at every step (seen through saturated gates)",
        family="lstm",
    ),
    Broken(
        "PerDirectionMaskLSTM",
        "test_both_directions_of_the_next_layer_read_the_same_dropped_output",
        "read different dropout masks",
        "both directions of the next layer read one dropped tensor",
        family="lstm",
    ),
    Broken(
        "SameMaskEveryStepGRU",
        "test_training_dropout_draws_a_fresh_mask_at_every_step",
        "reused across time steps",
        "training dropout draws a fresh mask at every step (seen through saturated gates)",
        family="gru",
    ),
    Broken(
        "PerDirectionMaskGRU",
        "test_both_directions_of_the_next_layer_read_the_same_dropped_output",
        "read different dropout masks",
        "both directions of the next layer read one dropped tensor",
        family="gru",
    ),
    Broken(
        "NoTrainingDropoutRNN",
        "test_training_dropout_is_reproducible_under_a_seed_and_varies_across_seeds",
        "no element was dropped",
        "training mode with dropout drops elements, drawing the mask from torch's generator",
    ),
    # test_gradients.py
    Broken(
        "TruncatedBPTTRNN",
        "test_gradients_match_reference_bptt",
        "differs from the reference's",
        "gradients are those of full backpropagation through time",
        # Its truncation detaches h_0: with a one-step sequence, no gradient reaches hx.
        also=("does not depend on ['hx'] under autograd",),
    ),
    # test_packed_sequences.py
    Broken(
        "PaddedEndHnRNN",
        "test_packed_sequences_run_as_if_alone",
        "h_n of sequence",
        "each packed sequence's h_n is taken at its own last step",
    ),
    Broken(
        "Float32PackedHnRNN",
        "test_packed_sequences_run_as_if_alone",
        "returned h_n with dtype torch.float32, expected torch.float64",
        "PackedSequence results get every call's checks: h_n has the input's dtype",
    ),
    # test_devices_and_dtypes.py
    Broken(
        "NoReducedPrecisionRNN",
        "test_reduced_precision_matches_reference",
        "must declare it",
        "a target lacking float16 or bfloat16 declares it rather than raising",
    ),
)
"""Every broken implementation and the property that must catch it."""

NOT_CATALOGUED = {
    "HangingRNN": "the time limit's self-tests in tests/test_runner.py",
    "DeclaredNoReducedPrecisionRNN": "a declared gap, skipped rather than failed",
    "NoProjectionLSTM": "a declared gap: tests/test_constructor_error_gaps.py",
    "RejectsEveryConstructionRNN": "the preflight's self-test in tests/test_preflight.py: "
    "no property runs for a target that cannot build the default configuration",
}
"""Classes of the :data:`MODULES` that no property must fail, and what uses them."""


def property_module(name: str) -> str:
    """The file in ``rnn_conformance/properties/`` that defines property ``name``."""
    pattern = re.compile(rf"^def {re.escape(name)}\(", re.MULTILINE)
    for path in sorted(PROPERTIES.glob("test_*.py")):
        if pattern.search(path.read_text()):
            return path.name
    raise LookupError(f"no property {name!r} in {PROPERTIES}")


def defect(entry: Broken) -> str:
    """The first paragraph of the broken class's docstring: its defect."""
    import importlib

    doc = getattr(importlib.import_module(entry.module), entry.implementation).__doc__ or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def render(catalogue: tuple[Broken, ...] = CATALOGUE) -> str:
    """The table of caught bugs in :data:`CAUGHT_BUGS`, between its markers."""
    lines = [
        BEGIN,
        "",
        "Entries marked (lstm) run with `--rnn-family lstm`, their classes in "
        "`tests/broken_lstms.py`; entries marked (gru) with `--rnn-family gru`, theirs in "
        "`tests/broken_grus.py`.",
        "",
        "| property (`rnn_conformance/properties/`) | broken implementation "
        "(`tests/broken_rnns.py`) | its defect | the claim it breaks |",
        "| --- | --- | --- | --- |",
    ]
    for entry in catalogue:
        where = f"`{property_module(entry.property)}::{entry.property}`"
        marks = [entry.family] if entry.family != "rnn" else []
        marks += ["cell"] if entry.cell else []
        name = f"`{entry.implementation}`" + (f" ({' '.join(marks)})" if marks else "")
        text = defect(entry).replace("|", "\\|")
        lines.append(f"| {where} | {name} | {text} | {entry.claim} |")
    return "\n".join([*lines, "", END])


def readme_section(text: str) -> str:
    """The rendered section of a page's text, markers included ("" if it has none)."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return ""
    return text[start : end + len(END)]


def write_readme(path: Path = CAUGHT_BUGS) -> bool:
    """Render the table into ``path`` (:data:`CAUGHT_BUGS`); return whether it changed."""
    text = path.read_text()
    section = readme_section(text)
    if not section:
        raise SystemExit(f"{path} has no section between {BEGIN!r} and {END!r}")
    rendered = render()
    if section == rendered:
        return False
    path.write_text(text.replace(section, rendered))
    return True


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    changed = write_readme()
    print(f"{CAUGHT_BUGS}: {'rewritten' if changed else 'already up to date'}")
