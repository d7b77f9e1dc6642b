"""Each deliberately broken implementation fails the property that guards against its bug.

Which implementation must fail which property, with which message, is the one table in
``tests/broken_catalogue.py``; the list of caught bugs in the docs is rendered from it.

The entries run in a few pytest sessions, not one each (most of the time was pytest's and
torch's start-up): each session checks one subject per broken implementation, running only
the properties its entries name (the plugin ``tests/catalogue_session.py``), and this file
then asserts, entry by entry, that one of them failed with the entry's message. CI's two
environments run half of the sessions each (``tests/ci_share.py``).
"""

import importlib
import inspect
import os
import re
from pathlib import Path

import broken_catalogue
import pytest
from broken_catalogue import CATALOGUE, MODULES, NOT_CATALOGUED
from catalogue_session import ENTRIES_ENV, RESULTS_ENV, ItemResult, read_results
from ci_share import in_this_share

ROOT = Path(__file__).resolve().parent.parent


def _run_properties(pytester, monkeypatch, *args):
    """A pytest process running the properties (ci profile), with ``tests/`` importable."""
    # Prepended, so that whatever PYTHONPATH the outer run has reaches the inner one too.
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
    )
    # One thread each, as in the suite's xdist workers: `pytest -n 2` runs two of these
    # sessions side by side, and torch's two intra-op threads each on two busy cores made
    # the same examples 4 times slower (IgnoresCellStateLSTM: 64 s on one thread, 262 s on
    # two, its property's time limit of 600 s reached once).
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")
    return pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        "--hypothesis-profile=ci",
        *args,
    )


SHARES = 2
"""CI's environments (``.ci/run``, ``RNN_CI_SHARE=0/2`` and ``1/2``): each runs one share."""

SESSIONS_PER_SHARE = 2
"""The catalogue's sessions in each share: one for each of CI's ``pytest -n 2`` workers."""

DEFAULT_SECONDS = 1.0
"""What an entry's property takes (ci profile, one core), unless :data:`SECONDS` says."""

SECONDS = {
    "IgnoresCellStateLSTM-test_output_and_h_n_match_reference": 66.0,
    "LeaksFutureRNN-test_outputs_do_not_depend_on_the_future": 13.0,
    "LenientHxRNN-test_invalid_calls_raise_like_nn_rnn": 10.0,
    "OmittedBatchFirstGRU-test_modules_built_with_only_the_required_arguments_have_nn_defaults": (
        7.0
    ),
    "WrongStackingRNN-test_output_and_h_n_match_reference": 6.0,
    "NoReducedPrecisionRNN-test_reduced_precision_matches_reference": 6.0,
    "TruncatedBPTTRNN-test_gradients_match_reference_bptt": 5.5,
    "IgnoresHxRNN-test_output_and_h_n_match_reference": 4.0,
    "NotImplementedForBadCallsRNN-test_invalid_calls_raise_like_nn_rnn and hidden": 3.5,
    "IdentityProjectionLSTM-test_output_and_h_n_match_reference": 3.0,
    "Float32PackedHnRNN-test_packed_sequences_run_as_if_alone": 3.0,
    "NotImplementedForwardRNN-test_invalid_calls_raise_like_nn_rnn and hidden": 3.0,
}
"""Entries (by ``entry.id``) measured to take longer than :data:`DEFAULT_SECONDS`: the
``duration`` in their session's results (catalogue_session.py), one idle core. Only the
balance of the sessions depends on them."""


def _balanced(indexes: list[int], count: int) -> list[list[int]]:
    """``indexes`` in ``count`` parts of about equal expected time, each in catalogue order.

    Longest first, each to the part expected to end first: deterministic, so that every
    process, and both CI environments, make the same parts.
    """
    loads = [0.0] * count
    parts: list[list[int]] = [[] for _ in range(count)]
    seconds = {i: SECONDS.get(CATALOGUE[i].id, DEFAULT_SECONDS) for i in indexes}
    for index in sorted(indexes, key=lambda i: (-seconds[i], i)):
        part = min(range(count), key=lambda p: (loads[p], p))
        loads[part] += seconds[index]
        parts[part].append(index)
    return [sorted(part) for part in parts]


def _sessions() -> list[tuple[int, list[int]]]:
    """The catalogue's sessions, as (CI share, entry indexes), in the order they are run.

    The catalogue is halved by expected time, one half per share (so each CI environment
    runs half of it), and each half cut into :data:`SESSIONS_PER_SHARE` sessions. The
    order alternates the shares, ``A1 B1 B2 A2``: pytest-xdist's ``load`` scheduling hands
    its two workers consecutive tests, so that both sessions of a share run side by side
    when this file runs alone, whichever share it is.
    """
    halves = _balanced(list(range(len(CATALOGUE))), SHARES)
    rounds = [_balanced(half, SESSIONS_PER_SHARE) for half in halves]
    order = []
    for number in range(SESSIONS_PER_SHARE):
        shares = range(SHARES) if number % 2 == 0 else reversed(range(SHARES))
        order += [(share_index, rounds[share_index][number]) for share_index in shares]
    return order


def _what_happened(index: int, items: list[ItemResult]) -> str | None:
    """None if entry ``index`` was caught, else what happened instead (for the assertion)."""
    entry = CATALOGUE[index]
    mine = [item for item in items if index in item.entries]
    if any(
        item.outcome == "failed" and any(item.shows(m) for m in (entry.message, *entry.also))
        for item in mine
    ):
        return None
    if not mine:
        instead = "no report of any item: none matched, or the session ended before them"
    else:
        said = {"passed": "", "skipped": ": ", "failed": " with another message: "}
        instead = "; ".join(
            f"{item.nodeid} {item.outcome}"
            + (said[item.outcome] + item.summary() if item.outcome != "passed" else "")
            for item in mine
        )
    family = entry.family + (" cell" if entry.cell else "")
    others = "".join(f" or {fragment!r}" for fragment in entry.also)
    return (
        f"{entry.implementation} ({family}) must fail {entry.keyword!r} with "
        f"{entry.message!r}{others}, but: {instead}"
    )


@pytest.mark.parametrize(
    "group",
    [
        pytest.param(group, marks=in_this_share(share_index), id=f"session{number + 1}")
        for number, (share_index, group) in enumerate(_sessions())
    ],
)
def test_broken_implementations_fail_their_properties(pytester, monkeypatch, group):
    # One session for the group (catalogue_session.py): one subject per broken class, each
    # running only its entries' properties. -n 0: an xdist worker would cost one more start
    # of torch and a collection, and no entry crashes its process (the crashing targets'
    # self-tests, which need -n 1 to survive one, live in tests/test_run_guards.py).
    results = pytester.path / "catalogue-results.jsonl"
    monkeypatch.setenv(ENTRIES_ENV, ",".join(map(str, group)))
    monkeypatch.setenv(RESULTS_ENV, str(results))
    result = _run_properties(pytester, monkeypatch, "-p", "catalogue_session", "-n", "0")
    output = result.stdout.str()
    tail = f"{output[-3000:]}\n{result.stderr.str()[-2000:]}"
    assert "INTERNALERROR" not in output, tail
    # 1: some tests failed (the broken implementations); anything else, it did not run.
    assert result.ret == pytest.ExitCode.TESTS_FAILED, f"exit code {result.ret}:\n{tail}"
    items = read_results(results)
    misses = [miss for index in group if (miss := _what_happened(index, items))]
    assert not misses, f"{len(misses)} of {len(group)} entries not caught:\n" + "\n".join(
        f"- {miss}" for miss in misses
    )


def test_the_sessions_run_every_entry_once_and_halve_the_catalogue_between_shares():
    sessions = _sessions()
    assert len(sessions) == SHARES * SESSIONS_PER_SHARE
    ran = sorted(index for _, group in sessions for index in group)
    assert ran == list(range(len(CATALOGUE)))
    assert all(group for _, group in sessions)
    assert set(SECONDS) <= {entry.id for entry in CATALOGUE}, "SECONDS names no entry"
    expected = [0.0] * SHARES
    for share_index, group in sessions:
        expected[share_index] += sum(SECONDS.get(CATALOGUE[i].id, DEFAULT_SECONDS) for i in group)
    assert max(expected) - min(expected) <= max(SECONDS.values(), default=DEFAULT_SECONDS)


def test_declared_reduced_precision_gap_is_skipped_with_the_capability_named(pytester, monkeypatch):
    # The same refusal as NoReducedPrecisionRNN's, declared: a gap, not a failure.
    result = _run_properties(
        pytester,
        monkeypatch,
        "--rnn-impl",
        "broken_rnns:DeclaredNoReducedPrecisionRNN",
        "-k",
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


def test_the_caught_bugs_page_lists_the_catalogue():
    page = broken_catalogue.CAUGHT_BUGS.read_text()
    assert broken_catalogue.readme_section(page) == broken_catalogue.render(), (
        "docs/caught-bugs.md's list of caught bugs differs from tests/broken_catalogue.py: "
        "run `python tests/broken_catalogue.py` to rewrite it"
    )


def test_every_broken_class_is_catalogued_and_every_entry_names_a_real_one():
    classes = set()
    for module in MODULES.values():
        classes |= {
            (module, name)
            for name, obj in vars(importlib.import_module(module)).items()
            if inspect.isclass(obj) and obj.__module__ == module and not name.startswith("_")
        }
    catalogued = {(entry.module, entry.implementation) for entry in CATALOGUE}
    assert catalogued <= classes, catalogued - classes
    assert {name for _, name in classes - catalogued} == set(NOT_CATALOGUED), classes - catalogued
    for entry in CATALOGUE:
        assert broken_catalogue.property_module(entry.property)  # the property exists
        assert entry.claim
        assert "\n" not in entry.claim
    assert len({(e.implementation, e.keyword) for e in CATALOGUE}) == len(CATALOGUE)


def test_class_docstrings_describe_the_defect_not_the_property_that_catches_it():
    for module, name in {(entry.module, entry.implementation) for entry in CATALOGUE}:
        doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
        assert doc, f"{name} has no docstring describing its defect"
        assert not re.search(r"\btest_\w+", doc), f"{name}'s docstring names a property"
