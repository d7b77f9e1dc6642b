"""What a failed property reports, taken from the failure itself rather than from printed text.

Three facts make a failure read like a bug report, and each comes from a structured source
that does not change with another tool's wording:

* the message: the exception's own text, without the notes Hypothesis appends;
* the minimal example: :func:`record_examples` wraps a property's Hypothesis inner test (the
  hook Hypothesis provides for plugins) and attaches the call's arguments, and every value
  drawn from ``st.data()``, to the exception it raises. Hypothesis replays the minimal
  failing example last and raises that replay's exception, so the attached example is the
  minimal one;
* where the target raised: the innermost frame, in the exception or its causes, that lies
  outside this suite, torch, Hypothesis, pytest and the standard library.

>>> def test_demo(device, case):
...     raise AssertionError("output differs")
>>> try:
...     _call_recording(test_demo, "test_demo", (), {"device": "cpu", "case": 3})
... except AssertionError as exc:
...     print(failure_details(exc)["example"])
test_demo(
    device='cpu',
    case=3,
)
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import sysconfig
import traceback
from collections.abc import Callable
from typing import Any

__all__ = [
    "REPRO_SCRIPTS_ENV",
    "failure_details",
    "leaf_exception",
    "record_examples",
    "wants_repro_scripts",
]

_EXAMPLE = "_rnn_conformance_example"
_CALLS = "_rnn_conformance_calls"
_HIDDEN_ARGUMENTS = ("suite",)


def record_examples(test: Callable[..., Any]) -> None:
    """Make a Hypothesis test attach its arguments to any exception it raises (idempotent).

    In a run that writes standalone scripts (:func:`wants_repro_scripts`), also records
    the target's calls of each example, and starts the log of constructions
    (:data:`rnn_conformance.repro.BUILDS`) that gives a property without a Hypothesis
    record its script.
    """
    from rnn_conformance.harness.target_calls import OBSERVERS
    from rnn_conformance.repro import BUILDS

    if wants_repro_scripts() and BUILDS not in OBSERVERS:
        OBSERVERS.append(BUILDS)
    handle = getattr(test, "hypothesis", None)
    inner = getattr(handle, "inner_test", None)
    if inner is None or getattr(inner, _EXAMPLE, False):
        return
    name = getattr(test, "__name__", "property")

    @functools.wraps(inner)
    def recording(*args: Any, **kwargs: Any) -> Any:
        return _call_recording(inner, name, args, kwargs)

    setattr(recording, _EXAMPLE, True)
    handle.inner_test = recording


class _RecordingData:
    """Stands in for ``st.data()``'s object and remembers every value drawn from it."""

    def __init__(self, data: Any, drawn: dict[str, Any]) -> None:
        self._data = data
        self._drawn = drawn

    def draw(self, strategy: Any, label: Any = None) -> Any:
        value = self._data.draw(strategy, label=label)
        self._drawn[str(label) if label is not None else f"draw {len(self._drawn) + 1}"] = value
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._data, name)


def _call_recording(inner: Callable[..., Any], name: str, args: tuple, kwargs: dict) -> Any:
    # A fresh record of the target's calls for each example (rnn_conformance.repro).
    from rnn_conformance.harness.target_calls import observing
    from rnn_conformance.repro import CallRecorder

    drawn: dict[str, Any] = {}
    passed = {
        key: _RecordingData(value, drawn) if type(value).__name__ == "DataObject" else value
        for key, value in kwargs.items()
    }
    # Copying every call costs time in every example: only a run that writes scripts does.
    recorder = CallRecorder() if wants_repro_scripts() else None
    try:
        with observing(recorder) if recorder is not None else contextlib.nullcontext():
            return inner(*args, **passed)
    except BaseException as exc:
        shown = {
            key: _DRAWS_BELOW if isinstance(passed[key], _RecordingData) else value
            for key, value in kwargs.items()
            if key not in _HIDDEN_ARGUMENTS
        }
        _attach(exc, _format_call(name, shown, drawn))
        if recorder is not None:
            with contextlib.suppress(AttributeError, TypeError):
                setattr(exc, _CALLS, _Record(name, recorder, dict(kwargs)))
        raise


class _Record:
    """The calls of the target in a failing example, for its standalone script."""

    def __init__(self, name: str, recorder: Any, arguments: dict[str, Any]) -> None:
        self.property = name
        self.calls = recorder.calls
        self.dropped = recorder.dropped
        self.arguments = arguments
        self.message = ""


class _DrawsBelow:
    def __repr__(self) -> str:
        return "<the values drawn below>"


_DRAWS_BELOW = _DrawsBelow()


def _attach(exc: BaseException, example: str) -> None:
    with contextlib.suppress(AttributeError, TypeError):  # a type without a __dict__
        setattr(exc, _EXAMPLE, example)


def _pretty(value: Any) -> str:
    try:
        from hypothesis.vendor.pretty import pretty
    except ImportError:  # pragma: no cover - every supported Hypothesis has it
        return repr(value)
    return pretty(value)


def _format_call(name: str, arguments: dict[str, Any], drawn: dict[str, Any]) -> str:
    lines = [f"{name}("]
    for key, value in arguments.items():
        text = _pretty(value).replace("\n", "\n    ")
        lines.append(f"    {key}={text},")
    lines.append(")")
    for label, value in drawn.items():
        lines.append(f"drawn {label}: " + _pretty(value).replace("\n", "\n    "))
    return "\n".join(lines)


def leaf_exception(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (Hypothesis raises one for several bugs)."""
    while isinstance(getattr(exc, "exceptions", None), tuple) and exc.exceptions:  # type: ignore[attr-defined]
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return exc


def _library_roots() -> tuple[str, ...]:
    # The package root, two levels up: a frame anywhere in rnn_conformance is ours.
    roots = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    for module in ("torch", "hypothesis", "_pytest", "pluggy", "numpy", "execnet", "xdist"):
        found = sys.modules.get(module)
        if found is not None and getattr(found, "__file__", None):
            roots.append(os.path.dirname(os.path.abspath(found.__file__)))
    roots.append(os.path.abspath(sysconfig.get_paths()["stdlib"]))
    return tuple(root + os.sep for root in roots)


def _user_frame(exc: BaseException) -> str | None:
    """``file:line in function`` of the innermost frame outside the libraries, if any."""
    roots = _library_roots()
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for link in reversed(chain):  # the original error first
        frames = traceback.extract_tb(link.__traceback__)
        for frame in reversed(frames):
            path = os.path.abspath(frame.filename)
            if not path.startswith(roots) and not frame.filename.startswith("<"):
                return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return None


REPRO_SCRIPTS_ENV = "RNN_CONFORMANCE_REPRO_SCRIPTS"
"""Set to ``1`` by the ``rnn-conformance`` runner, which writes the scripts (workers inherit it)."""


def wants_repro_scripts() -> bool:
    """Whether this run writes standalone reproductions (the runner's runs do)."""
    return os.environ.get(REPRO_SCRIPTS_ENV) == "1"


def failure_details(
    exc: BaseException, *, scripts: bool = False, family: Any = None
) -> dict[str, str]:
    """The message, minimal example and target frame of a failure (empty strings if none).

    With ``scripts``, also ``repro``, the source of a standalone reproduction script
    (:mod:`rnn_conformance.repro`), or ``repro_note``, why there is none. Making one runs
    it twice in a subprocess, so only a run that writes them (the runner) asks. ``family``
    is the property's subject's, whose torch classes a constructor-error script runs.
    """
    leaf = leaf_exception(exc)
    message = str(leaf).strip()
    if not isinstance(leaf, AssertionError):
        message = f"{type(leaf).__name__}: {message}" if message else type(leaf).__name__
    message = message or type(leaf).__name__
    return {
        "message": message,
        "example": getattr(leaf, _EXAMPLE, "") or getattr(exc, _EXAMPLE, ""),
        "raised_at": _user_frame(leaf) or "",
        **(
            _reproduction(
                leaf, getattr(leaf, _CALLS, None) or getattr(exc, _CALLS, None), message, family
            )
            if scripts
            else {}
        ),
    }


def _reproduction(leaf: BaseException, record: Any, message: str, family: Any) -> dict[str, str]:
    """``repro`` (a script) or ``repro_note`` for a failure's record of calls."""
    if not isinstance(leaf, Exception):
        # A time limit or an interrupt: replaying the calls could hang again.
        return {
            "repro": "",
            "repro_note": f"no standalone script: the property was stopped "
            f"({type(leaf).__name__}), and replaying its calls could hang again",
        }
    from rnn_conformance.repro import BUILDS, build_reproduction, reproduction

    if record is None:
        # No Hypothesis record (a parametrised property): the test's constructions.
        node = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        name = node.rpartition("::")[2].partition("[")[0] or "property"
        try:
            made = build_reproduction(BUILDS.of_current_test(), name, message, family)
        except Exception as exc:
            return {"repro": "", "repro_note": f"no standalone script: {type(exc).__name__}: {exc}"}
        return {"repro": made.source, "repro_note": made.note}

    record.message = message
    try:
        made = reproduction(record)
    except Exception as exc:  # never let the script cost the failure its report
        return {"repro": "", "repro_note": f"no standalone script: {type(exc).__name__}: {exc}"}
    return {"repro": made.source, "repro_note": made.note}
