"""The xfails file: its syntax, its errors (naming file and line) and its scoping."""

import pytest

from rnn_conformance.running.options import collect
from rnn_conformance.running.session import UsageProblem, resolve
from rnn_conformance.running.xfails import XfailsFileError, parse_lines, read_xfails_file

GOOD = [
    "# known failures",
    "test_packed_sequences_run_as_if_alone  # issue 42: h_n at the padded end",
    "",
    "test_devices_and_dtypes.py::test_reduced_precision_matches_reference "
    "[device=cuda] [dtype=float16]  # cuDNN fp16 # accumulates",
    "test_invalid_calls_raise_like_nn_rnn[rnn-cpu-hx with wrong hidden size] "
    "[dtype=float16,bfloat16]  # spaces in the id",
]


def test_entries_have_pattern_scopes_reason_and_line():
    first, second, third = parse_lines(GOOD, path="xf.txt")
    assert (first.pattern, first.scopes, first.reason, first.where) == (
        "test_packed_sequences_run_as_if_alone",
        {},
        "issue 42: h_n at the padded end",
        "xf.txt:2",
    )
    assert second.pattern == "test_devices_and_dtypes.py::test_reduced_precision_matches_reference"
    assert second.scopes == {"device": ("cuda",), "dtype": ("float16",)}
    assert second.reason == "cuDNN fp16 # accumulates"
    assert second.text == (
        "test_devices_and_dtypes.py::test_reduced_precision_matches_reference "
        "[device=cuda] [dtype=float16]"
    )
    assert third.pattern == (
        "test_invalid_calls_raise_like_nn_rnn[rnn-cpu-hx with wrong hidden size]"
    )
    assert third.scopes == {"dtype": ("float16", "bfloat16")}
    assert third.where == "xf.txt:5"


def test_patterns_match_as_in_the_skips_file_and_scopes_narrow_them():
    (entry,) = parse_lines(["test_shapes [device=cuda,cpu] [dtype=bfloat16]  # r"], path="f")
    assert entry.matches("rnn_conformance/properties/test_shapes.py::test_output[rnn-cpu]")
    assert entry.matches("rnn_conformance/properties/test_shapes.py::test_output[lstm-cpu]")
    assert not entry.matches("test_gradients.py::test_gradcheck[rnn-cpu]")
    assert entry.applies_on_device("cpu")
    assert entry.applies_on_device("cuda:3")
    assert entry.applies_to_dtype("bfloat16")
    assert not entry.applies_to_dtype("float16")
    (exact,) = parse_lines(["test_shapes [device=cuda:1]  # r"], path="f")
    assert exact.applies_on_device("cuda:1")
    assert not exact.applies_on_device("cuda:0")
    assert not exact.applies_on_device("cpu")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("test_shapes", "f.txt:3: 'test_shapes' has no reason; write one after '#'"),
        ("test_shapes  #   ", "f.txt:3: 'test_shapes' has no reason"),
        ("test_shapes [colour=red]  # r", "f.txt:3: unknown scope 'colour' in [colour=red]"),
        ("test_shapes [cuda]  # r", "f.txt:3: expected a scope [key=value], got [cuda]"),
        ("test_shapes [device=tpu]  # r", "f.txt:3: unknown device 'tpu'"),
        ("test_shapes [dtype=float8]  # r", "f.txt:3: unknown dtype 'float8'"),
        ("test_shapes [dtype=]  # r", "f.txt:3: [dtype=] names no dtype"),
        ("test_shapes [dtype=float16] [dtype=bfloat16]  # r", "f.txt:3: scope 'dtype' given twice"),
        ("[device=cuda]  # r", "f.txt:3: no property pattern before the scopes"),
    ],
)
def test_a_malformed_line_is_an_error_naming_file_and_line(line, message):
    with pytest.raises(XfailsFileError) as caught:
        parse_lines(["# header", "", line], path="f.txt")
    assert str(caught.value).startswith(message), str(caught.value)


def test_an_unreadable_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(XfailsFileError, match=r"cannot read '.*missing\.txt'"):
        read_xfails_file(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("style", "environ", "source"),
    [
        ("runner", {}, "--xfails"),
        ("pytest", {}, "--rnn-xfails"),
        ("pytest", {"RNN_CONFORMANCE_XFAILS": "ENV"}, "$RNN_CONFORMANCE_XFAILS"),
    ],
)
def test_a_bad_xfails_file_is_a_usage_error_naming_the_option(tmp_path, style, environ, source):
    path = tmp_path / "xfails.txt"
    path.write_text("# ok\ntest_shapes  # fine\ntest_gradients\n")
    environ = {key: str(path) for key in environ}
    given = {} if environ else {"xfails": str(path)}
    with pytest.raises(UsageProblem) as caught:
        resolve(collect(given, style=style, environ=environ))
    assert str(caught.value) == (
        f"{source}: {path}:3: 'test_gradients' has no reason; write one after '#' "
        "(every known failure says why it is known)"
    )


def test_resolved_xfails_are_stated_in_the_run_facts(tmp_path):
    path = tmp_path / "xfails.txt"
    path.write_text("test_shapes  # one\ntest_gradients [device=cpu]  # two\n")
    facts = resolve(collect({"xfails": str(path)}, style="runner", environ={}))
    assert [entry.reason for entry in facts.xfails] == ["one", "two"]
    assert facts.describe()["xfails file"] == f"{path} (2 known failures)"
    assert resolve(collect({}, style="runner", environ={})).describe()["xfails file"] == "none"
