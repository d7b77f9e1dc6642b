"""Standalone reproduction scripts: one Python file per failing property, for upstream issues.

While a property's Hypothesis example runs, a :class:`CallRecorder` (one more observer of
:mod:`rnn_conformance.target_calls`) keeps a CPU copy of every call of the target: the
constructor arguments, the module's weights (its ``state_dict``), its training mode and
the call's arguments. :mod:`rnn_conformance.failures` starts a recorder for each example
and attaches it to the exception of a failing one; Hypothesis replays the minimal failing
example last, so the attached record is the minimal example's.

:func:`reproduction` turns that record into a script which imports only torch (and the
target's own module, never this suite): the constructor call, the weights and the call's
arguments as literals, and as the oracle torch's own module (or cell) of the family, built
with the same arguments and weights and called the same way. The script compares the two:

* results: type and structure (``(output, h_n)``, tuples, ``PackedSequence`` with its
  ``batch_sizes`` and indices), then shape, dtype and device of every tensor, then values
  within a tolerance stated as a number, derived from the suite's policy
  (:mod:`rnn_conformance.tolerances`) for that very call: each implementation may be off
  by ``SAFETY * bound`` from the exact result, so two may differ by twice that;
* errors: where torch's module raises type ``E``, the target must raise an ``E`` (not
  ``NotImplementedError``); where torch's returns, the target must not raise.

It exits 1 and prints the discrepancies while they are there, 0 once the target agrees.
Its first command-line argument (``module:attr``) replaces the target, so running it with
``torch.nn:LSTM`` passes. A script is written only once it has been checked, in the
worker, to fail for the failing target and pass for torch's class; the first recorded call
for which both hold is the one written. Where none does (the property's claim is not "the
same as torch on one call": gradients, dropout's randomness, initialisation statistics, a
relation between calls of the target; or the target *is* torch's class), no script is
written and :func:`reproduction` says why, which the report repeats.

>>> import torch
>>> from rnn_conformance.target_calls import observing, watch_module
>>> module = torch.nn.RNN(1, 1)
>>> watch_module("torch.nn:RNN", module, {"input_size": 1, "hidden_size": 1})
>>> with observing(CallRecorder()) as recorder:
...     _ = module(torch.zeros(2, 1, 1))
>>> call = recorder.calls[0]
>>> call.spec, sorted(call.state)[:2], tuple(call.args[0].tensor.shape), call.training
('torch.nn:RNN', ['bias_hh_l0', 'bias_ih_l0'], (2, 1, 1), True)
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import pprint
import sys
import sysconfig
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

_REPRO_MARK = "# Standalone reproduction of an rnn-conformance failure"

__all__ = [
    "BUILDS",
    "MAX_CALLS",
    "BuildLog",
    "CallRecorder",
    "RecordedBuild",
    "RecordedCall",
    "RecordedPacked",
    "RecordedTensor",
    "Reproduction",
    "reproduction",
    "script_name",
]

MAX_CALLS = 24
"""Calls recorded per example; later ones (gradcheck makes hundreds) are only counted."""


@dataclass(frozen=True)
class RecordedTensor:
    """A CPU copy of a call's tensor argument, with where and how it was passed."""

    tensor: torch.Tensor
    device: str
    contiguous: bool


@dataclass(frozen=True)
class RecordedPacked:
    """A CPU copy of a ``PackedSequence`` argument, with the device its data was on."""

    packed: PackedSequence
    device: str


@dataclass
class RecordedCall:
    """One call of a target: how the module was built, its weights, mode and arguments."""

    spec: str
    built_with: dict[str, Any]
    state: dict[str, torch.Tensor]
    training: bool
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    returned: bool = False


def _copy(value: Any) -> Any:
    if isinstance(value, PackedSequence):
        parts = (None if p is None else p.detach().to("cpu", copy=True) for p in value)
        return RecordedPacked(PackedSequence(*parts), str(value.data.device))
    if isinstance(value, torch.Tensor):
        return RecordedTensor(
            value.detach().to("cpu", copy=True), str(value.device), value.is_contiguous()
        )
    if isinstance(value, tuple | list):
        return type(value)(_copy(part) for part in value)
    return value


class CallRecorder:
    """An observer (:mod:`rnn_conformance.target_calls`) keeping copies of a target's calls."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self.dropped = 0
        """Calls beyond :data:`MAX_CALLS`, or that could not be copied: not recorded."""
        self.problem = ""
        """Why the latest call that could not be copied could not."""

    def before_call(
        self, spec: str, built_with: Mapping[str, Any], module: Any, args: tuple, kwargs: dict
    ) -> None:
        """Copy the call's constructor arguments, weights, mode and arguments."""
        if len(self.calls) >= MAX_CALLS:
            self.dropped += 1
            return
        try:
            state = {
                name: value.detach().to("cpu", copy=True)
                for name, value in module.state_dict().items()
                if isinstance(value, torch.Tensor)
            }
            self.calls.append(
                RecordedCall(
                    spec,
                    dict(built_with),
                    state,
                    bool(getattr(module, "training", False)),
                    _copy(tuple(args)),
                    _copy(dict(kwargs)),
                )
            )
        except Exception as exc:  # a record is a bonus: never let it change the verdict
            self.dropped += 1
            self.problem = f"{type(exc).__name__}: {exc}"

    def after_call(self, spec: str, module: Any, result: Any) -> None:
        """Mark the latest call as returned (a call that raised stays unmarked)."""
        if self.calls and self.calls[-1].spec == spec:
            self.calls[-1].returned = True


@dataclass(frozen=True)
class RecordedBuild:
    """One construction of a target: its constructor arguments, device and dtype."""

    spec: str
    kwargs: dict[str, Any]
    device: str
    dtype: Any


def _current_test() -> str:
    """The node id of the test pytest is running now (``PYTEST_CURRENT_TEST``), or ``""``."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


class BuildLog:
    """An always-on observer keeping the current test's constructions (at most ``limit``).

    For properties without a Hypothesis record (the constructor-error property is
    parametrised only): its failure gets a script from the constructions of that test,
    told apart by ``PYTEST_CURRENT_TEST``.

    >>> log = BuildLog()
    >>> log.before_build("torch.nn:RNN", {"input_size": 1}, "cpu", "torch.float32")
    >>> [build.kwargs for build in log.of_current_test()]
    [{'input_size': 1}]
    """

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self.test: str | None = None
        self.builds: list[RecordedBuild] = []

    def before_build(self, spec: str, kwargs: Mapping[str, Any], device: Any, dtype: Any) -> None:
        """Keep the construction, forgetting those of earlier tests."""
        test = _current_test()
        if test != self.test:
            self.test, self.builds = test, []
        if len(self.builds) < self.limit:
            self.builds.append(RecordedBuild(spec, dict(kwargs), str(device), dtype))

    def of_current_test(self) -> list[RecordedBuild]:
        """The constructions of the test running now."""
        return list(self.builds) if self.test == _current_test() else []


BUILDS = BuildLog()
"""The log :mod:`rnn_conformance.failures` registers as an observer in each session."""


@dataclass
class Reproduction:
    """A generated script (``source``), or why none was written (``note``)."""

    source: str = ""
    note: str = ""
    tried: int = 0
    """How many recorded calls were tried."""


@dataclass
class _Context:
    """What :func:`reproduction` knows about the failure: the record and the property."""

    property: str
    calls: list[RecordedCall]
    dropped: int = 0
    arguments: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def script_name(prop: str, params: str = "") -> str:
    """The file name of a property's script; ``params`` (a node's ``[...]``) when several fail.

    >>> script_name("test_packed_sequences_run_as_if_alone")
    'test_packed_sequences_run_as_if_alone.py'
    >>> script_name("test_invalid_calls_raise_like_nn_rnn", "cpu-hx with wrong rank")
    'test_invalid_calls_raise_like_nn_rnn__cpu-hx_with_wrong_rank.py'
    """
    if not params:
        return f"{prop}.py"
    clean = "".join(c if c.isalnum() or c in "-_." else "_" for c in params)
    return f"{prop}__{clean}.py"


# -- which calls a script can show ----------------------------------------------------


def _suite(context: _Context) -> Any:
    return context.arguments.get("suite")


def _family(context: _Context) -> Any:
    from rnn_conformance.families import family_named, selected_family

    suite = _suite(context)
    return getattr(suite, "family", None) or family_named(selected_family())


def _role(context: _Context, call: RecordedCall) -> str:
    suite = _suite(context)
    target = getattr(suite, "target", None)
    cell = getattr(suite, "cell_target", None)
    if target is not None and call.spec == target.spec:
        return "module"
    if cell is not None and call.spec == cell.spec:
        return "cell"
    return "module" if "num_layers" in call.built_with else "cell"


def _floating(state: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
    return [value for value in state.values() if value.is_floating_point()]


def _call_dtype(call: RecordedCall) -> torch.dtype:
    weights = _floating(call.state)
    if weights:
        return weights[0].dtype
    for arg in _tensor_leaves(call.args):
        if arg.tensor.is_floating_point():
            return arg.tensor.dtype
    return torch.get_default_dtype()


def _tensor_leaves(value: Any) -> list[RecordedTensor]:
    if isinstance(value, RecordedTensor):
        return [value]
    if isinstance(value, tuple | list):
        return [leaf for part in value for leaf in _tensor_leaves(part)]
    if isinstance(value, dict):
        return [leaf for part in value.values() for leaf in _tensor_leaves(part)]
    return []


def _unusable(context: _Context, call: RecordedCall, oracle: Any) -> str | None:
    """Why this call cannot be replayed against torch's module, or ``None``."""
    dropout = float(call.built_with.get("dropout", 0) or 0)
    if call.training and dropout > 0 and int(call.built_with.get("num_layers", 1)) > 1:
        return "it is a training-mode call with dropout, whose masks are random"
    names = _oracle_state_names(oracle, call)
    if names is None or set(call.state) != set(names):
        return "torch's class does not take its constructor arguments or weights' names"
    dtype = _call_dtype(call)
    if any(value.dtype != dtype for value in _floating(call.state)):
        return "its weights have several dtypes"
    return None


def _oracle_state_names(oracle: Any, call: RecordedCall) -> list[str] | None:
    """The ``state_dict`` names of torch's module built like the call's (``None``: it fails)."""
    try:
        with torch.device("meta"):
            return list(oracle(**call.built_with).state_dict())
    except Exception:
        return None


# -- the tolerance --------------------------------------------------------------------


def _numpy(value: Any) -> Any:
    from rnn_conformance.reference import as_float64

    if isinstance(value, RecordedTensor):
        return as_float64(value.tensor)
    if isinstance(value, tuple | list):
        return tuple(_numpy(part) for part in value)
    return value


def _config(family: Any, built_with: Mapping[str, Any], role: str) -> Any:
    from rnn_conformance.config import RNNConfig

    fields = set(RNNConfig.__dataclass_fields__) - {"family_name"}
    given = {name: value for name, value in built_with.items() if name in fields}
    if role == "cell":
        given = {
            name: given[name]
            for name in ("input_size", "hidden_size", "bias", "nonlinearity")
            if name in given
        }
    return RNNConfig(**given, family_name=family.name)


def _largest_bound(context: _Context, call: RecordedCall, role: str) -> float | None:
    """The largest element of the policy's bound on this call's results (unscaled).

    For a ``PackedSequence``, the largest over its sequences, each run alone; for a cell,
    that of a one-step, one-layer module with its weights. ``None`` if torch's module would
    reject the call (then no values are compared).
    """
    from rnn_conformance.reference import forward_trace
    from rnn_conformance.tolerances import Precision, forward_error_bounds, leaves

    family = _family(context)
    suite = _suite(context)
    device = str(context.arguments.get("device") or "cpu")
    dtype = str(_call_dtype(call)).removeprefix("torch.")
    declared = getattr(
        suite, "cell_activation_error" if role == "cell" else "activation_error", 0.0
    )
    tf32 = bool(suite is not None and suite.tf32.widens(device))
    precision = Precision.of(dtype, tf32=tf32, activation_error=declared or 0.0)
    config = _config(family, call.built_with, role)
    params = {
        name: _numpy(RecordedTensor(value, "cpu", True)) for name, value in call.state.items()
    }
    args = list(call.args) + [None] * (2 - len(call.args))
    x, hx = args[0], args[1]
    runs: list[tuple[Any, Any]] = []
    if role == "cell":
        params = {f"{name}_l0": value for name, value in params.items()}
        x = _numpy(x)[None]
        hx = _numpy(hx)
        if hx is not None:
            hx = tuple(part[None] for part in hx) if isinstance(hx, tuple) else hx[None]
        runs.append((x, hx))
    elif isinstance(x, RecordedPacked):
        padded, lengths = pad_packed_sequence(x.packed, batch_first=config.batch_first)
        padded_np = padded.double().numpy()
        for i, length in enumerate(lengths.tolist()):
            seq = padded_np[[i], :length] if config.batch_first else padded_np[:length, [i]]
            h = _numpy(hx)
            if h is not None:
                h = tuple(part[:, [i]] for part in h) if isinstance(h, tuple) else h[:, [i]]
            runs.append((seq, h))
    else:
        runs.append((_numpy(x), _numpy(hx)))
    largest = 0.0
    for x_run, hx_run in runs:
        if isinstance(hx_run, tuple) and len(family.state_names) == 1:
            return None
        try:
            _, _, trace = forward_trace(config, x_run, params, hx_run)
        except Exception:
            return None
        bounds = forward_error_bounds(trace, precision)
        for _, leaf in leaves(bounds.output, "output") + leaves(bounds.h_n, "h_n"):
            if np.size(leaf):
                largest = max(largest, float(np.max(leaf)))
    return largest


# -- the script ---------------------------------------------------------------------


def _values(tensor: torch.Tensor, width: int = 80) -> str:
    values = tensor.double().tolist() if tensor.is_floating_point() else tensor.tolist()
    return pprint.pformat(values, width=max(width, 40), compact=True)


def _hang(prefix: str, text: str) -> str:
    """``prefix`` then ``text``, its later lines indented to line up under its first."""
    return prefix + text.replace("\n", "\n" + " " * len(prefix))


def _fill(items: list[str], width: int) -> str:
    """``items`` joined by commas, as many to a line as fit in ``width``."""
    lines = [""]
    for item in items:
        if lines[-1] and len(lines[-1]) + len(item) + 2 > width:
            lines[-1] += ","
            lines.append("")
        lines[-1] += (", " if lines[-1] else "") + item
    return "\n".join(lines)


def _py(value: Any) -> str:
    """Python source of a plain value, strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _tensor_literal(arg: RecordedTensor, dtype: torch.dtype, device: str, names: set[str]) -> str:
    tensor = arg.tensor
    kind = "" if tensor.dtype == dtype else f", {_torch_name(tensor.dtype)}"
    if tensor.numel() == 0:
        text = f"t([]{kind}).reshape{tuple(tensor.shape)}"
    else:
        values = _values(tensor)
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor.double()).all()):
            names.add("nonfinite")
        text = f"t({values}{kind})"
    if arg.device != device:
        text += f".to({arg.device!r})"
    if not arg.contiguous:
        names.add("noncontiguous")
        text = f"noncontiguous({text})"
    return text


def _torch_name(dtype: torch.dtype) -> str:
    return "torch." + str(dtype).removeprefix("torch.")


def _literal(value: Any, dtype: torch.dtype, device: str, names: set[str]) -> str:
    if isinstance(value, RecordedPacked):
        return _packed_literal(value, dtype, device, names)
    if isinstance(value, RecordedTensor):
        return _tensor_literal(value, dtype, device, names)
    if isinstance(value, tuple):
        parts = [_literal(part, dtype, device, names) for part in value]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(part, dtype, device, names) for part in value) + "]"
    text = repr(value)
    ast.literal_eval(text)  # only values that are their own source (raises otherwise)
    return text


def _same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))


def _packed_literal(value: RecordedPacked, dtype: torch.dtype, device: str, names: set[str]) -> str:
    """``pack_padded_sequence(padded, lengths, ...)`` when that rebuilds it exactly."""
    original = value.packed
    enforce_sorted = original.sorted_indices is None
    padded, lengths = pad_packed_sequence(original, batch_first=False)
    again = pack_padded_sequence(padded, lengths, enforce_sorted=enforce_sorted)
    if all(_same(a, b) for a, b in zip(again, original, strict=True)):
        names.add("pack_padded_sequence")
        sequence = _tensor_literal(RecordedTensor(padded, value.device, True), dtype, device, names)
        return (
            "pack_padded_sequence(\n"
            f"    {textwrap.indent(sequence, '    ').lstrip()},  # padded: (steps, batch, ...)\n"
            f"    lengths={lengths.tolist()},\n"
            f"    enforce_sorted={enforce_sorted},\n)"
        )
    names.add("PackedSequence")
    fields = [
        "None"
        if part is None
        else _tensor_literal(
            RecordedTensor(part, "cpu" if i == 1 else value.device, True), dtype, device, names
        )
        for i, part in enumerate(original)
    ]
    return "PackedSequence(" + ", ".join(fields) + ")"


def _describe_shapes(value: Any) -> str:
    if isinstance(value, RecordedPacked):
        return f"a PackedSequence, batch_sizes {value.packed.batch_sizes.tolist()}"
    if isinstance(value, RecordedTensor):
        return f"shape {tuple(value.tensor.shape)}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_describe_shapes(part) for part in value) + ")"
    return repr(value)


def _target_path(spec: str) -> str | None:
    """The directory to put on ``sys.path`` so that ``python -I`` imports the target."""
    module_name = spec.partition(":")[0]
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if not path:
        return None
    root = os.path.dirname(os.path.abspath(path))
    if os.path.basename(path) == "__init__.py":
        root = os.path.dirname(root)
    for _ in range(module_name.count(".")):
        root = os.path.dirname(root)
    installed = [sysconfig.get_paths()[key] for key in ("purelib", "platlib", "stdlib")]
    if any(os.path.abspath(p) == root for p in installed):
        return None
    return root


def _comment_text(text: str, width: int = 86) -> str:
    """A paragraph as ``#`` comment lines."""
    return "\n".join("# " + line for line in textwrap.wrap(text, width))


def _comment(text: str, width: int = 84, limit: int = 14) -> str:
    lines: list[str] = []
    for line in text.strip().splitlines():
        lines += textwrap.wrap(line, width, subsequent_indent="    ") or [""]
    if len(lines) > limit:
        lines = [*lines[:limit], "..."]
    return "\n".join(f"#   {line}".rstrip() for line in lines)


_COMPARE = '''

def compare(name, got, want, problems):
    """Append to problems every way got differs from want (types, shapes, values)."""
    if isinstance(want, PackedSequence):
        if not isinstance(got, PackedSequence):
            problems.append(f"{name} is a {type(got).__name__}, {ORACLE_NAME}'s a PackedSequence")
            return
        for part in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            g, w = getattr(got, part), getattr(want, part)
            if (g is None) != (w is None) or (w is not None and not torch.equal(g.cpu(), w.cpu())):
                problems.append(f"{name}.{part} is {g}, {ORACLE_NAME}'s {w}")
        compare(f"{name}.data", got.data, want.data, problems)
        return
    if isinstance(want, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(want):
            problems.append(f"{name} is {describe(got)}, {ORACLE_NAME}'s {describe(want)}")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            compare(PARTS.get((name, i), f"{name}[{i}]"), g, w, problems)
        return
    if not isinstance(got, torch.Tensor):
        problems.append(f"{name} is {describe(got)}, {ORACLE_NAME}'s {describe(want)}")
        return
    wrong = [
        f"{what} {getattr(got, what)} (not {getattr(want, what)})"
        for what in ("shape", "dtype", "device")
        if getattr(got, what) != getattr(want, what)
    ]
    if wrong:
        problems.append(f"{name} has " + ", ".join(wrong))
    if got.shape != want.shape or got.numel() == 0:
        return
    g, w = got.detach().double().cpu(), want.detach().double().cpu()
    error = (g - w).abs().where(~(g.isnan() & w.isnan()), 0.0)
    bad = ~(error <= ATOL)  # a NaN in one of them counts as a difference
    if bad.any():
        worst = tuple(int(i) for i in bad.nonzero()[error[bad].nan_to_num(torch.inf).argmax()])
        problems.append(
            f"{name} differs from {ORACLE_NAME}'s in {int(bad.sum())} of {g.numel()} elements; "
            f"at {worst}: {g[worst].item():.9g} vs {w[worst].item():.9g} "
            f"(|difference| {error[worst].item():.3g}, allowed {ATOL:.3g})"
        )
'''

_HELPERS = '''

def describe(value):
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}, {value.dtype}"
    if isinstance(value, tuple | list):
        parts = ", ".join(map(describe, value))
        return f"a {type(value).__name__} of {len(value)}: ({parts})"
    return f"an instance of {type(value).__name__}"


def load(spec):
    """The implementation named by 'module:attr'."""
    module_name, _, attr = spec.partition(":")
    found = importlib.import_module(module_name)
    for part in attr.split("."):
        found = getattr(found, part)
    return found
'''

_MAIN = """

def main(spec=DEFAULT_TARGET):
    got, want = run(load(spec)), oracle()
    problems = []
    if isinstance(want, Exception):
        # The target must raise the same type as torch (NotImplementedError is no rejection).
        expected = f"{ORACLE_NAME} raises {type(want).__name__}: {want}"
        if not isinstance(got, Exception):
            problems.append(f"returned {describe(got)}; {expected}")
        elif isinstance(got, NotImplementedError) or not isinstance(got, type(want)):
            problems.append(f"raised {type(got).__name__}: {got}; {expected}")
    elif isinstance(got, Exception):
        returns = f"{ORACLE_NAME} returns {describe(want)}"
        problems.append(f"raised {type(got).__name__}: {got}; {returns}")
    else:
        compare("the result", got, want, problems)
    for problem in problems:
        print(f"{spec}: {problem}")
    if not problems:
        print(f"{spec} agrees with {ORACLE_NAME} on this call")
    return 1 if problems else 0


if __name__ == "__main__":
    if TARGET_PATH:
        sys.path.insert(0, TARGET_PATH)
    sys.exit(main(*sys.argv[1:2]))
"""


def _render(
    context: _Context,
    call: RecordedCall,
    role: str,
    bound: float | None,
    expected: tuple[Any, Any] | None = None,
) -> str:
    """The script's source. ``expected``: the reference's results, when the target is torch's."""
    from rnn_conformance.target import Target, resolve
    from rnn_conformance.tolerances import SAFETY, unit_roundoff

    family = _family(context)
    oracle_spec = family.cell_target if role == "cell" else family.module_target
    oracle_name = "nn." + oracle_spec.partition(":")[2]
    torch_name = oracle_name
    if expected is not None:
        oracle_name = "the float64 reference"
    dtype = _call_dtype(call)
    device = str(context.arguments.get("device") or "cpu")
    names: set[str] = set()
    weights = "\n".join(
        _hang(f"    {_py(name)}: ", _values(value, 84 - len(name))) + ","
        for name, value in call.state.items()
    )
    argument_lines = []
    labels = ["x", "hx"] if len(call.args) <= 2 and not call.kwargs else []
    for i, arg in enumerate(call.args):
        label = labels[i] if labels else f"arg{i}"
        text = _literal(arg, dtype, device, names)
        shapes = "" if arg is None else _describe_shapes(arg)
        body = textwrap.indent(text, "    ").lstrip()
        if "\n" in text:  # the comment above a literal of several lines
            argument_lines.append(f"    # {label}: {shapes}\n    {label} = {body}")
        else:
            argument_lines.append(f"    {label} = {body}" + (f"  # {shapes}" if shapes else ""))
    for key, arg in call.kwargs.items():
        text = _literal(arg, dtype, device, names)
        argument_lines.append(f"    {key} = {textwrap.indent(text, '    ').lstrip()}")
    given = labels[: len(call.args)] if labels else [f"arg{i}" for i in range(len(call.args))]
    positional = ", ".join(given)
    keywords = ", ".join(f"{_py(key)}: {key}" for key in call.kwargs)
    placed = Target(call.spec, resolve(call.spec), family).takes_device_and_dtype
    build = "factory(**CONSTRUCTOR, device=DEVICE, dtype=DTYPE)" if placed else "build(factory)"
    if bound is None:
        tolerance = (
            f"# No values are compared: {oracle_name} rejects this call, so only the exception\n"
            "# type is (the target must raise the same type, and not NotImplementedError).\n"
            "ATOL = 0.0"
        )
    elif expected is not None:
        each = SAFETY * bound
        largest = max(
            (float(np.max(np.abs(leaf))) for leaf in _arrays(expected) if np.size(leaf)),
            default=0.0,
        )
        rounding = unit_roundoff(str(dtype).removeprefix("torch.")) * largest
        tolerance = (
            _comment_text(
                "Tolerance, from rnn-conformance's policy for this call "
                "(rnn_conformance.tolerances): the target may differ from the exact result "
                f"by SAFETY * bound = {SAFETY:g} * {bound:.3g} = {each:.3g} (bound: the "
                "largest element bound of this call's results), plus the rounding of the "
                f"expected values to {str(dtype).removeprefix('torch.')}, u * max|expected|"
                f" = {rounding:.3g}."
            )
            + f"\nATOL = {each + rounding!r}"
        )
    else:
        each = SAFETY * bound
        tolerance = (
            _comment_text(
                "Tolerance, from rnn-conformance's policy for this call "
                "(rnn_conformance.tolerances): an implementation may differ from the exact "
                f"result by SAFETY * bound = {SAFETY:g} * {bound:.3g} = {each:.3g} (bound: "
                f"the largest element bound of this call's results in "
                f"{str(dtype).removeprefix('torch.')}), so the target and {oracle_name}, each "
                f"within it, may differ by the sum of their bounds, 2 * {each:.3g}."
            )
            + f"\nATOL = {2 * each!r}"
        )
    imports = ["import importlib", *([] if placed else ["import inspect"]), "import sys", ""]
    rnn_names = sorted({"PackedSequence", *(names & {"pack_padded_sequence"})})
    imports += ["import torch", "from torch.nn.utils.rnn import " + ", ".join(rnn_names)]
    target_path = _target_path(call.spec)
    message = _comment(context.message) if context.message else "#   (no message)"
    parts_names = (
        ("output", "h_n") if role == "module" else tuple(f"{part}'" for part in family.state_names)
    )
    result_name = "the result"
    if role == "cell":
        result_name = parts_names[0] if len(parts_names) == 1 else f"({', '.join(parts_names)})"
    parts = [f'({_py(result_name)}, {i}): "{name}"' for i, name in enumerate(parts_names)]
    if role == "module" and len(family.state_names) > 1:
        parts += [f'("h_n", {i}): "{part}_n"' for i, part in enumerate(family.state_names)]
    mode = "module.train()  # as the property called it" if call.training else "module.eval()"
    helpers = []
    if "nonfinite" in names:
        helpers.append('nan, inf = float("nan"), float("inf")')
    helpers.append(
        "\n\ndef t(values, dtype=DTYPE):\n"
        "    return torch.tensor(values, dtype=dtype, device=DEVICE)"
    )
    if "noncontiguous" in names:
        helpers.append(
            "\n\ndef noncontiguous(tensor):\n"
            '    """The same values in a strided, non-contiguous view, as the suite gave them."""\n'
            "    return torch.stack([tensor, tensor], dim=-1)[..., 0]"
        )
    if not placed:
        helpers.append(
            "\n\ndef build(factory):\n"
            '    """With device= and dtype= if the constructor takes them, else built, moved."""\n'
            "    parameters = inspect.signature(factory).parameters.values()\n"
            '    if {"device", "dtype"} <= {p.name for p in parameters} or any(\n'
            "        p.kind is p.VAR_KEYWORD for p in parameters\n    ):\n"
            "        return factory(**CONSTRUCTOR, device=DEVICE, dtype=DTYPE)\n"
            "    return factory(**CONSTRUCTOR).to(DEVICE, DTYPE)"
        )
    constructor = _hang(
        "CONSTRUCTOR = dict(",
        _fill([f"{k}={_py(v)}" for k, v in call.built_with.items()], 70),
    )
    if expected is None:
        claim = (
            f"{call.spec} should give what torch's {oracle_name} gives for the call below "
            "(the same constructor arguments, weights and input, from Hypothesis' minimal "
            "failing example), and does not. The property's message:"
        )
        oracle = f"ORACLE = torch.nn.{oracle_spec.partition(':')[2]}  # the behaviour to match\n"
        oracle_function = (
            "\n\n\ndef oracle():\n"
            f'    """What {oracle_name} gives for the same call."""\n'
            "    return run(ORACLE)"
        )
        passes = f"(`python THIS_FILE.py {oracle_spec}` passes)"
    else:
        claim = (
            f"{call.spec}, torch's own {torch_name}, should give for the call below (from "
            "Hypothesis' minimal failing example) the results of rnn-conformance's float64 "
            "NumPy reference, embedded in oracle() below, and does not. The property's "
            "message:"
        )
        oracle = ""
        values = [
            _hang(f"    {name} = ", _values(torch.from_numpy(np.asarray(leaf)), 80 - len(name)))
            for name, leaf in zip(_leaf_names(expected, family), _arrays(expected), strict=True)
        ]
        oracle_function = (
            "\n\n\ndef oracle():\n"
            '    """The reference\'s float64 results for the call, rounded to DTYPE."""\n'
            + "\n".join(values)
            + f"\n    return {_leaf_structure(expected, family)}"
        )
        passes = "(a fixed torch passes)"
    return (
        f"{_REPRO_MARK}:\n# {context.property} on {device}.\n#\n"
        + _comment_text(claim)
        + f"\n#\n{message}\n#\n"
        + "# Usage: python THIS_FILE.py [module:attr]\n"
        + _comment_text(
            f"The implementation defaults to {call.spec}. Exits 1 and prints the "
            f"discrepancy while it is there, 0 once the target agrees with {oracle_name} "
            f"{passes}. Imports only torch and the target's own module."
        )
        + "\n\n"
        + "\n".join(imports)
        + "\n\n"
        f"DEFAULT_TARGET = {_py(call.spec)}\n"
        "# >>> The directory of the target's module, put on sys.path (python -I ignores\n"
        "# >>> PYTHONPATH). Edit it if the module moved; None if it is installed.\n"
        f"TARGET_PATH = {_py(target_path)}\n"
        f"{oracle}"
        f"ORACLE_NAME = {_py(oracle_name)}\n"
        "# The names of the result's parts, in messages.\n"
        + _hang("PARTS = {", _fill(parts, 78))
        + "}\n\n"
        f"DEVICE = {_py(device)}\n"
        f"DTYPE = {_torch_name(dtype)}\n"
        f"{constructor})\n\n"
        "# The module's weights, loaded with load_state_dict.\n"
        f"WEIGHTS = {{\n{weights}\n}}\n\n"
        f"{tolerance}\n" + "\n".join(helpers) + "\n\n\ndef arguments():\n"
        '    """The call\'s arguments, made afresh for each module."""\n'
        + "\n".join(argument_lines)
        + f"\n    return ({positional}{',' if len(call.args) == 1 else ''}), {{{keywords}}}\n\n\n"
        "def run(factory):\n"
        '    """Build the module, load the weights and call it: its result, or what it raised."""\n'
        "    try:\n"
        f"        module = {build}\n"
        "        module.load_state_dict({name: t(value) for name, value in WEIGHTS.items()})\n"
        f"        {mode}\n"
        "        args, kwargs = arguments()\n"
        "        with torch.no_grad():\n"
        "            return module(*args, **kwargs)\n"
        "    except Exception as exc:\n"
        "        return exc"
        + oracle_function
        + "\n"
        + _COMPARE
        + _HELPERS
        + _MAIN.replace('compare("the result"', f"compare({_py(result_name)}")
    )


def _arrays(value: Any) -> list[Any]:
    if isinstance(value, tuple | list):
        return [leaf for part in value for leaf in _arrays(part)]
    return [value]


def _leaf_names(expected: tuple[Any, Any], family: Any) -> list[str]:
    if isinstance(expected[1], tuple | list):
        return ["output", *(f"{part}_n" for part in family.state_names)]
    return ["output", "h_n"]


def _leaf_structure(expected: tuple[Any, Any], family: Any) -> str:
    names = [f"t({name})" for name in _leaf_names(expected, family)]
    if isinstance(expected[1], tuple | list):
        return f"{names[0]}, ({', '.join(names[1:])})"
    return ", ".join(names)


def _reference_results(context: _Context, call: RecordedCall) -> tuple[Any, Any] | None:
    """The reference's ``(output, h_n)`` for a module call with a tensor input, if it runs."""
    from rnn_conformance.reference import forward_trace

    args = [*call.args, None][:2]
    if not isinstance(args[0], RecordedTensor) or call.kwargs or len(call.args) > 2:
        return None
    config = _config(_family(context), call.built_with, "module")
    params = {name: _numpy(RecordedTensor(v, "cpu", True)) for name, v in call.state.items()}
    try:
        output, h_n, _ = forward_trace(config, _numpy(args[0]), params, _numpy(args[1]))
    except Exception:
        return None
    return output, h_n


def _render_build(prop: str, message: str, build: RecordedBuild, oracle_spec: str) -> str:
    """A script checking one construction: torch raises ``E``, so must the target, or not."""
    from rnn_conformance.target import resolve

    oracle_name = "nn." + oracle_spec.partition(":")[2]
    dtype = build.dtype if isinstance(build.dtype, torch.dtype) else torch.float32
    placed = _accepts_placement(resolve(build.spec))
    how = (
        "factory(**CONSTRUCTOR, device=DEVICE, dtype=DTYPE)"
        if placed
        else "factory(**CONSTRUCTOR).to(DEVICE, DTYPE)  # its constructor takes neither"
    )
    constructor = _hang(
        "CONSTRUCTOR = dict(", _fill([f"{k}={_py(v)}" for k, v in build.kwargs.items()], 70)
    )
    return (
        f"{_REPRO_MARK}:\n# {prop} on {build.device}.\n#\n"
        + _comment_text(
            f"{build.spec} should accept or reject the constructor arguments below as "
            f"torch's {oracle_name} does (rejecting them with the same exception type), "
            "and does not. The property's message:"
        )
        + f"\n#\n{_comment(message) if message else '#   (no message)'}\n#\n"
        + "# Usage: python THIS_FILE.py [module:attr]\n"
        + _comment_text(
            f"The implementation defaults to {build.spec}. Exits 1 and prints the "
            f"discrepancy while it is there, 0 once the target agrees with {oracle_name} "
            f"(`python THIS_FILE.py {oracle_spec}` passes). Imports only torch and the "
            "target's own module."
        )
        + "\n\nimport importlib\nimport sys\n\nimport torch\n\n"
        f"DEFAULT_TARGET = {_py(build.spec)}\n"
        "# >>> The directory of the target's module, put on sys.path (python -I ignores\n"
        "# >>> PYTHONPATH). Edit it if the module moved; None if it is installed.\n"
        f"TARGET_PATH = {_py(_target_path(build.spec))}\n"
        f"ORACLE = torch.nn.{oracle_spec.partition(':')[2]}  # the behaviour to match\n"
        f"ORACLE_NAME = {_py(oracle_name)}\n\n"
        f"DEVICE = {_py(build.device)}\n"
        f"DTYPE = {_torch_name(dtype)}\n"
        f"{constructor})\n\n\n"
        "def run(factory):\n"
        '    """Build the module: the module, or what its constructor raised."""\n'
        "    try:\n"
        f"        return {how}\n"
        "    except Exception as exc:\n"
        "        return exc\n\n\n"
        "def oracle():\n"
        f'    """What {oracle_name}\'s constructor does with the same arguments."""\n'
        "    return run(ORACLE)\n"
        + _HELPERS
        + _MAIN.replace(
            '        compare("the result", got, want, problems)',
            "        pass  # both built a module: the constructor agrees",
        ).replace("on this call", "on these arguments")
    )


def _accepts_placement(factory: Any) -> bool:
    from rnn_conformance.target import Target

    return Target("", factory).takes_device_and_dtype


def build_reproduction(builds: list[RecordedBuild], prop: str, message: str) -> Reproduction:
    """A script for a failure about constructions alone: the first that reproduces.

    >>> build_reproduction([], "test_x", "").note.startswith("no standalone script")
    True
    """
    from rnn_conformance.families import family_named, selected_family
    from rnn_conformance.target import resolve

    if not builds:
        return Reproduction(
            note="no standalone script: no record of the target's calls or constructions"
        )
    family = family_named(selected_family())
    for tried, build in enumerate(builds, start=1):
        role = (
            "module" if build.spec != family.cell_target and "num_layers" in build.kwargs else None
        )
        oracle_spec = family.module_target if role else family.cell_target
        if resolve(build.spec) is resolve(oracle_spec):
            continue
        source = _render_build(prop, message, build, oracle_spec)
        if _exit_code(source, build.spec)[0] == 1 and _exit_code(source, oracle_spec)[0] == 0:
            return Reproduction(source=source, tried=tried)
    return Reproduction(
        note=f"no standalone script: none of the {len(builds)} constructions of the target in "
        "this property is accepted or rejected differently from torch's class",
        tried=len(builds),
    )


def _oracle_raises(source: str) -> bool:
    """Whether the script's oracle (torch's class) raises for its call."""
    namespace: dict[str, Any] = {"__name__": "rnn_conformance_repro"}
    try:
        exec(compile(source, "<repro>", "exec"), namespace)
        return isinstance(namespace["oracle"](), Exception)
    except Exception:
        return False


def _exit_code(source: str, spec: str) -> tuple[int, str]:
    """Run the script's ``main(spec)`` in this process; its exit code and printed text."""
    namespace: dict[str, Any] = {"__name__": "rnn_conformance_repro"}
    printed = io.StringIO()
    from rnn_conformance import float_state

    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(source, "<repro>", "exec"), namespace)
            code = namespace["main"](spec)
    except Exception as exc:
        return 2, f"{type(exc).__name__}: {exc}"
    finally:
        if float_state.flushes_subnormals():  # the target may switch it on again
            float_state.restore_gradual_underflow()
    return int(code), printed.getvalue()


def reproduction(context: Any) -> Reproduction:
    """The script for a failure's record (attached by :mod:`rnn_conformance.failures`).

    ``context`` has ``property``, ``calls`` (:class:`RecordedCall`), ``dropped``,
    ``arguments`` (the property's, ``suite`` and ``device`` among them) and ``message``.

    >>> reproduction(_Context("test_x", calls=[])).note.startswith("no standalone script")
    True
    """
    from rnn_conformance.target import resolve

    calls = list(context.calls)
    if not calls:
        return Reproduction(
            note="no standalone script: the minimal example made no call of the target "
            "through the suite's announced calls (the constructor-error property, for one, "
            "calls the constructor directly; a crash leaves no record in the run's process)"
        )
    family = _family(context)
    reasons: list[str] = []
    tried = 0
    for call in calls:
        role = _role(context, call)
        oracle_spec = family.cell_target if role == "cell" else family.module_target
        oracle = resolve(oracle_spec)
        try:
            target_factory = resolve(call.spec)
        except Exception:
            return Reproduction(note=f"no standalone script: {call.spec} cannot be imported")
        if target_factory is oracle:
            # torch's own class cannot be its own oracle: the reference's values instead.
            expected = _reference_results(context, call) if role == "module" else None
            if expected is None or _unusable(context, call, oracle) is not None:
                reasons.append("the target is torch's class and the reference cannot run it")
                continue
            tried += 1
            try:
                bound = _largest_bound(context, call, role)
                source = _render(context, call, role, bound, expected)
            except Exception as exc:
                reasons.append(f"it could not be written ({type(exc).__name__}: {exc})")
                continue
            if _exit_code(source, call.spec)[0] == 1:
                return Reproduction(source=source, tried=tried)
            continue
        reason = _unusable(context, call, oracle)
        if reason is not None:
            reasons.append(reason)
            continue
        tried += 1
        try:
            bound = _largest_bound(context, call, role)
            source = _render(context, call, role, bound)
        except Exception as exc:  # a record the script cannot express
            reasons.append(f"it could not be written ({type(exc).__name__}: {exc})")
            continue
        if bound is None and not _oracle_raises(source):
            reasons.append("the tolerance policy cannot bound its results")
            continue
        broken, _ = _exit_code(source, call.spec)
        fixed, printed = _exit_code(source, oracle_spec)
        if broken == 1 and fixed == 0:
            return Reproduction(source=source, tried=tried)
        if fixed != 0:
            reasons.append(f"torch's {oracle_spec} does not pass it ({printed.strip()[:200]})")
    dropped = f", and {context.dropped} more not recorded" if context.dropped else ""
    why = "; ".join(sorted(set(reasons)))
    return Reproduction(
        note=f"no standalone script: none of the {len(calls)} recorded calls of the target in "
        f"the minimal example{dropped} differs, on its own, from torch's module built and "
        "called the same way (the property's claim is about something else: gradients, "
        "dropout's randomness, initialisation, or a relation between calls)"
        + (f"; skipped calls: {why}" if why else ""),
        tried=tried,
    )
