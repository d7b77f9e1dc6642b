"""Selecting the recurrent family: defaults, unknown families, targets of another family.

The registry holds only ``rnn`` today, so a second family is registered here for the
duration of a test: a tiny Family whose torch classes are defined in this module. The
checks under test are generic over the registry, so they treat it as any other family.
"""

from typing import ClassVar

import pytest
import torch

from rnn_conformance.families import DEFAULT_FAMILY, FAMILIES, Family
from rnn_conformance.options import DEFAULT_CELL_TARGET, DEFAULT_TARGET, OPTIONS, collect
from rnn_conformance.runner import families_help
from rnn_conformance.session import UsageProblem, resolve

HERE = __name__


class FakeRecurrent(torch.nn.Module):
    """Stands in for another family's torch module (nn.LSTM, say)."""


class FakeRecurrentCell(torch.nn.Module):
    """Stands in for that family's torch cell."""


class MyFakeRecurrent(FakeRecurrent):
    """A user's implementation of the other family: a subclass of its torch module."""


class Fake(Family):
    name: ClassVar[str] = "fake"
    title: ClassVar[str] = "nn.Fake"
    module_target: ClassVar[str] = f"{HERE}:FakeRecurrent"
    cell_target: ClassVar[str] = f"{HERE}:FakeRecurrentCell"
    gates: ClassVar[int] = 2


@pytest.fixture
def fake_family(monkeypatch):
    monkeypatch.setitem(FAMILIES, "fake", Fake())
    return FAMILIES["fake"]


def _resolve(given, *, style="pytest", environ=None):
    return resolve(collect(given, style=style, environ=environ or {}))


def test_the_default_family_gives_the_default_targets_and_is_stated():
    assert OPTIONS["family"].default == DEFAULT_FAMILY
    family = FAMILIES[DEFAULT_FAMILY]
    assert (family.module_target, family.cell_target) == (DEFAULT_TARGET, DEFAULT_CELL_TARGET)
    facts = _resolve({})
    assert facts.family is family
    assert facts.suite.family is family
    assert facts.suite.target.spec == family.module_target
    assert facts.suite.cell_target.spec == family.cell_target
    described = facts.describe()
    assert described["family"] == f"{family.name} ({family.title})"
    assert list(described)[:2] == ["family", "target"]


def test_the_selected_family_gives_its_own_default_targets(fake_family):
    facts = _resolve({"family": "fake"})
    assert facts.suite.family is fake_family
    assert facts.suite.target.factory is FakeRecurrent
    assert facts.suite.cell_target.factory is FakeRecurrentCell
    assert facts.describe()["family"] == "fake (nn.Fake)"
    assert facts.describe()["target"] == (f"{HERE}:FakeRecurrent (cell {HERE}:FakeRecurrentCell)")


@pytest.mark.parametrize(
    ("style", "environ", "message"),
    [
        ("runner", {}, "--family: unknown recurrent family 'xlstm'; known: rnn, lstm, gru"),
        ("pytest", {}, "--rnn-family: unknown recurrent family 'xlstm'; known: rnn, lstm, gru"),
        (
            "pytest",
            {"RNN_CONFORMANCE_FAMILY": "xlstm"},
            "$RNN_CONFORMANCE_FAMILY: unknown recurrent family 'xlstm'; known: rnn, lstm, gru",
        ),
    ],
)
def test_an_unknown_family_is_a_usage_error_naming_the_option(style, environ, message):
    given = {} if environ else {"family": "xlstm"}
    with pytest.raises(UsageProblem) as caught:
        _resolve(given, style=style, environ=environ)
    assert str(caught.value) == message


def test_the_known_families_are_listed_from_the_registry(fake_family):
    with pytest.raises(UsageProblem, match=r"known: rnn, lstm, gru, fake$"):
        _resolve({"family": "xlstm"})
    listed = families_help()
    for family in FAMILIES.values():
        assert f"{family.name}" in listed
        assert f"{family.title}: --impl {family.module_target}" in listed


def test_a_subclass_of_another_familys_module_names_the_family_to_select(fake_family):
    with pytest.raises(UsageProblem) as caught:
        _resolve({"impl": f"{HERE}:MyFakeRecurrent"})
    assert str(caught.value) == (
        f"--rnn-impl {HERE}:MyFakeRecurrent subclasses {HERE}:FakeRecurrent, nn.Fake's "
        "module: it belongs to family fake, not rnn; select it with --rnn-family fake"
    )
    # Selecting that family accepts it.
    facts = _resolve({"family": "fake", "impl": f"{HERE}:MyFakeRecurrent"})
    assert facts.suite.target.factory is MyFakeRecurrent


def test_another_familys_torch_class_is_refused_in_the_runners_spelling(fake_family):
    with pytest.raises(UsageProblem) as caught:
        _resolve({"family": "fake", "impl": "torch.nn:RNN"}, style="runner")
    assert str(caught.value) == (
        "--impl torch.nn:RNN is torch.nn:RNN, nn.RNN's module: it belongs to family rnn, "
        "not fake; select it with --family rnn"
    )
    with pytest.raises(UsageProblem) as caught:
        _resolve({"family": "fake", "cell_impl": "torch.nn:RNNCell"}, style="runner")
    assert str(caught.value).startswith("--cell-impl torch.nn:RNNCell is torch.nn:RNNCell, ")
    assert str(caught.value).endswith("select it with --family rnn")


@pytest.mark.parametrize(
    ("given", "environ", "message"),
    [
        (
            {"impl": "torch.nn:RNNCell"},
            {},
            "--rnn-impl torch.nn:RNNCell is torch.nn:RNNCell, nn.RNN's cell, not its module "
            "(torch.nn:RNN); give it with --rnn-cell-impl",
        ),
        (
            {"cell_impl": "torch.nn:RNN"},
            {},
            "--rnn-cell-impl torch.nn:RNN is torch.nn:RNN, nn.RNN's module, not its cell "
            "(torch.nn:RNNCell); give it with --rnn-impl",
        ),
        (
            {},
            {"RNN_CONFORMANCE_IMPL": "torch.nn:RNNCell"},
            "$RNN_CONFORMANCE_IMPL=torch.nn:RNNCell is torch.nn:RNNCell, nn.RNN's cell, not "
            "its module (torch.nn:RNN); give it with --rnn-cell-impl",
        ),
    ],
)
def test_a_cell_given_as_the_module_or_back_is_a_usage_error(given, environ, message):
    with pytest.raises(UsageProblem) as caught:
        _resolve(given, environ=environ)
    assert str(caught.value) == message


def test_targets_of_no_torch_family_are_accepted():
    # The target contract is checked by the properties, not by its class.
    facts = _resolve({"impl": "examples.pure_torch_rnn:LoopRNN"})
    assert facts.suite.target.spec == "examples.pure_torch_rnn:LoopRNN"
