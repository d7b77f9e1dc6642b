"""Selecting the recurrent families: defaults, comma lists, ``all``, unknown families, and
targets of another family.

A further family is registered here for the duration of a test: a tiny Family whose torch
classes are defined in this module. The checks under test are generic over the registry,
so they treat it as any other family.
"""

from typing import ClassVar

import pytest
import torch

from rnn_conformance.constants import ALL_FAMILIES, DEFAULT_FAMILY
from rnn_conformance.numerics.families import FAMILIES, Family
from rnn_conformance.running.options import OPTIONS, collect
from rnn_conformance.running.runner import families_help
from rnn_conformance.running.session import UsageProblem, resolve

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
    assert OPTIONS["family"].default == DEFAULT_FAMILY == "rnn"
    family = FAMILIES[DEFAULT_FAMILY]
    assert (family.module_target, family.cell_target) == ("torch.nn:RNN", "torch.nn:RNNCell")
    # The options name no target of their own: each family's torch classes are its defaults.
    assert OPTIONS["impl"].default is None
    assert OPTIONS["cell_impl"].default is None
    assert f"{family.module_target} for rnn" in OPTIONS["impl"].help_text()
    assert f"{family.cell_target} for rnn" in OPTIONS["cell_impl"].help_text()
    facts = _resolve({})
    assert facts.families == [family]
    (subject,) = facts.subjects
    assert subject.family is family
    assert subject.id == "rnn-cpu"
    assert subject.target.spec == family.module_target
    assert subject.cell_target.spec == family.cell_target
    described = facts.describe()
    assert described["families"] == f"{family.name} ({family.title})"
    assert described["subjects"] == "rnn-cpu: torch.nn:RNN (cell torch.nn:RNNCell)"
    assert list(described)[:2] == ["families", "subjects"]


def test_the_selected_family_gives_its_own_default_targets(fake_family):
    facts = _resolve({"family": "fake"})
    (subject,) = facts.subjects
    assert subject.family is fake_family
    assert subject.id == "fake-cpu"
    assert subject.target.factory is FakeRecurrent
    assert subject.cell_target.factory is FakeRecurrentCell
    assert facts.describe()["families"] == "fake (nn.Fake)"
    assert facts.describe()["subjects"] == (
        f"fake-cpu: {HERE}:FakeRecurrent (cell {HERE}:FakeRecurrentCell)"
    )


@pytest.mark.parametrize("style", ["pytest", "runner"])
def test_a_comma_list_selects_exactly_those_families_in_order(style):
    facts = _resolve({"family": "lstm,gru"}, style=style)
    assert [subject.id for subject in facts.subjects] == ["lstm-cpu", "gru-cpu"]
    assert facts.families == [FAMILIES["lstm"], FAMILIES["gru"]]
    for subject in facts.subjects:
        assert subject.target.spec == subject.family.module_target
        assert subject.cell_target.spec == subject.family.cell_target
    described = facts.describe()
    assert described["families"] == "lstm (nn.LSTM), gru (nn.GRU)"
    assert described["subjects"] == (
        "lstm-cpu: torch.nn:LSTM (cell torch.nn:LSTMCell); "
        "gru-cpu: torch.nn:GRU (cell torch.nn:GRUCell)"
    )
    # Spaces around the names and a family named twice change nothing.
    again = _resolve({"family": " gru , lstm,gru "}, style=style)
    assert [subject.id for subject in again.subjects] == ["gru-cpu", "lstm-cpu"]


def test_all_selects_every_registered_family_in_one_session(fake_family):
    facts = _resolve({"family": ALL_FAMILIES})
    assert facts.families == list(FAMILIES.values())
    assert [subject.id for subject in facts.subjects] == [
        "rnn-cpu",
        "lstm-cpu",
        "gru-cpu",
        "fake-cpu",
    ]
    from_environment = _resolve({}, environ={"RNN_CONFORMANCE_FAMILY": "all"})
    assert [s.id for s in from_environment.subjects] == [s.id for s in facts.subjects]


@pytest.mark.parametrize(
    ("style", "given", "environ", "message"),
    [
        (
            "pytest",
            {"family": "lstm,xlstm"},
            {},
            "--rnn-family: unknown recurrent family 'xlstm'; known: rnn, lstm, gru (or all)",
        ),
        (
            "runner",
            {"family": "gru,lstmm"},
            {},
            "--family: unknown recurrent family 'lstmm'; known: rnn, lstm, gru (or all)",
        ),
        (
            "pytest",
            {},
            {"RNN_CONFORMANCE_FAMILY": "rnn,ALL"},
            "$RNN_CONFORMANCE_FAMILY: unknown recurrent family 'ALL'; "
            "known: rnn, lstm, gru (or all)",
        ),
        (
            "pytest",
            {"family": " , "},
            {},
            "--rnn-family: no family given; known: rnn, lstm, gru (or all)",
        ),
    ],
)
def test_an_unknown_name_in_a_comma_list_is_a_usage_error_naming_it(style, given, environ, message):
    with pytest.raises(UsageProblem) as caught:
        _resolve(given, style=style, environ=environ)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("style", "given", "environ", "message"),
    [
        (
            "pytest",
            {"family": "rnn,lstm", "impl": "torch.nn:LSTM"},
            {},
            "--rnn-impl: a target belongs to one family, but --rnn-family selects rnn, lstm; "
            "name its family alone",
        ),
        (
            "runner",
            {"family": "all", "impl": "broken_rnns:LenientHxRNN"},
            {},
            "--impl: a target belongs to one family, but --family selects rnn, lstm, gru; "
            "name its family alone",
        ),
        (
            "runner",
            {"family": "lstm,gru", "cell_impl": "torch.nn:GRUCell"},
            {},
            "--cell-impl: a target belongs to one family, but --family selects lstm, gru; "
            "name its family alone",
        ),
        (
            "pytest",
            {},
            {"RNN_CONFORMANCE_FAMILY": "all", "RNN_CONFORMANCE_IMPL": "no_such_pkg:RNN"},
            "$RNN_CONFORMANCE_IMPL: a target belongs to one family, but "
            "$RNN_CONFORMANCE_FAMILY selects rnn, lstm, gru; name its family alone",
        ),
    ],
)
def test_a_target_with_several_families_is_a_usage_error_naming_both_options(
    style, given, environ, message
):
    with pytest.raises(UsageProblem) as caught:
        _resolve(given, style=style, environ=environ)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("style", "environ", "message"),
    [
        (
            "runner",
            {},
            "--family: unknown recurrent family 'xlstm'; known: rnn, lstm, gru (or all)",
        ),
        (
            "pytest",
            {},
            "--rnn-family: unknown recurrent family 'xlstm'; known: rnn, lstm, gru (or all)",
        ),
        (
            "pytest",
            {"RNN_CONFORMANCE_FAMILY": "xlstm"},
            "$RNN_CONFORMANCE_FAMILY: unknown recurrent family 'xlstm'; "
            "known: rnn, lstm, gru (or all)",
        ),
    ],
)
def test_an_unknown_family_is_a_usage_error_naming_the_option(style, environ, message):
    given = {} if environ else {"family": "xlstm"}
    with pytest.raises(UsageProblem) as caught:
        _resolve(given, style=style, environ=environ)
    assert str(caught.value) == message


def test_the_known_families_are_listed_from_the_registry(fake_family):
    with pytest.raises(UsageProblem, match=r"known: rnn, lstm, gru, fake \(or all\)$"):
        _resolve({"family": "xlstm"})
    listed = families_help()
    for family in FAMILIES.values():
        assert f"{family.name}" in listed
        assert f"{family.title}: --impl {family.module_target}" in listed
    assert f"  {ALL_FAMILIES}  " in listed


def test_a_subclass_of_another_familys_module_names_the_family_to_select(fake_family):
    with pytest.raises(UsageProblem) as caught:
        _resolve({"impl": f"{HERE}:MyFakeRecurrent"})
    assert str(caught.value) == (
        f"--rnn-impl {HERE}:MyFakeRecurrent subclasses {HERE}:FakeRecurrent, nn.Fake's "
        "module: it belongs to family fake, not rnn; select it with --rnn-family fake"
    )
    # Selecting that family accepts it.
    facts = _resolve({"family": "fake", "impl": f"{HERE}:MyFakeRecurrent"})
    assert facts.subjects[0].target.factory is MyFakeRecurrent


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
    (subject,) = facts.subjects
    assert subject.target.spec == "examples.pure_torch_rnn:LoopRNN"
    assert subject.cell_target.spec == "torch.nn:RNNCell"
