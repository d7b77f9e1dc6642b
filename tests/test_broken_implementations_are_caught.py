"""Each deliberately broken implementation fails the property that guards against its bug.

Which implementation must fail which property, with which message, is the one table in
``tests/broken_catalogue.py``; the README's list of caught bugs is rendered from it.
"""

import importlib
import inspect
import os
import re
from pathlib import Path

import broken_catalogue
import pytest
from broken_catalogue import CATALOGUE, MODULES, NOT_CATALOGUED
from ci_share import in_this_share

ROOT = Path(__file__).resolve().parent.parent


def _run_properties(pytester, monkeypatch, option, target, prop, *extra):
    # Prepended, so that whatever PYTHONPATH the outer run has reaches the inner one too.
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
    )
    return pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        "--hypothesis-profile=ci",
        option,
        target,
        "-k",
        prop,
        *extra,
    )


def _assert_caught(result, message):
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1, result.stdout.str()[-3000:]
    assert message in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()


@pytest.mark.parametrize(
    "broken",
    [pytest.param(entry, marks=in_this_share(i)) for i, entry in enumerate(CATALOGUE)],
    ids=[entry.id for entry in CATALOGUE],
)
def test_broken_implementation_fails_its_property(pytester, monkeypatch, broken):
    result = _run_properties(
        pytester, monkeypatch, broken.option, broken.target, broken.keyword, *broken.family_options
    )
    _assert_caught(result, broken.message)


def test_declared_reduced_precision_gap_is_skipped_with_the_capability_named(pytester, monkeypatch):
    # The same refusal as NoReducedPrecisionRNN's, declared: a gap, not a failure.
    result = _run_properties(
        pytester,
        monkeypatch,
        "--rnn-impl",
        "broken_rnns:DeclaredNoReducedPrecisionRNN",
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
