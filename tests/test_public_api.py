"""The public modules declare their API, and everything they declare exists."""

import importlib

import pytest

PUBLIC = [
    "numerics.config",
    "numerics.reference",
    "numerics.backprop",
    "numerics.tolerances",
    "numerics.arithmetic",
    "numerics.layouts",
    "numerics.parameters",
    "numerics.dtypes",
    "generation.strategies",
    "generation.known_cases",
    "generation.cases",
    "harness",
    "harness.devices",
    "numerics.families",
    "repro",
    "transforms",
    "transforms.compiled",
    "transforms.exported",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_module_declares_all_and_every_name_exists(name):
    module = importlib.import_module(f"rnn_conformance.{name}")
    declared = module.__all__
    assert declared, f"rnn_conformance.{name}.__all__ is empty"
    assert len(set(declared)) == len(declared), f"rnn_conformance.{name}.__all__ has duplicates"
    missing = [attr for attr in declared if not hasattr(module, attr)]
    assert not missing, f"rnn_conformance.{name}.__all__ names {missing}, which do not exist"
    namespace: dict[str, object] = {}
    exec(f"from rnn_conformance.{name} import *", namespace)
    assert set(declared) <= namespace.keys()


def test_case_tensors_is_public_and_documented_with_an_example():
    from rnn_conformance import harness

    assert "case_tensors" in harness.__all__
    assert ">>> x, hx = case_tensors(" in harness.case_tensors.__doc__
