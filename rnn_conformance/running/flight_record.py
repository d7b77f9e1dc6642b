"""The flight record: the target call in progress, on disk, so that it survives a crash.

A kernel that segfaults on a malformed call kills its process, and with it everything the
process knew. So before each construction and call of a target
(:mod:`rnn_conformance.harness.target_calls`), :class:`FlightRecorder` overwrites one small JSON
file with what is about to run: the property (pytest node id) and its device, the call
(constructor arguments, input and ``hx`` shapes and dtypes) and the process id. The write
goes to the kernel at once (``os.pwrite``), so it outlives the process however it dies;
only a crash of the machine would lose it.

Who reads it:

* with pytest-xdist (``pytest -n N``, and the ``rnn-conformance`` runner, which always
  runs its properties in a worker), the controller, when a worker dies: the property that
  was running fails with the signal and this record (:func:`crash_message`), and the run
  goes on in a fresh worker;
* in a single process (``pytest -n 0``), which cannot survive its own segfault: a small
  watcher process (:func:`start_watcher`) prints the record to stderr when the process
  dies without saying goodbye, after faulthandler's traceback.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "main.json")
>>> recorder = FlightRecorder(path)
>>> recorder.begin("test_shapes[cpu]", "cpu")
>>> recorder.before_build("torch.nn:RNN", {"input_size": 2, "hidden_size": 3}, "cpu",
...                       "torch.float32")
>>> read_record(path)["call"]
"torch.nn:RNN(input_size=2, hidden_size=3, device='cpu', dtype=torch.float32)"
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from rnn_conformance.harness.target_calls import describe_values

__all__ = [
    "FLIGHT_DIR_ENV",
    "FlightRecorder",
    "crash_message",
    "describe_exit",
    "read_record",
    "record_path",
    "start_watcher",
]

FLIGHT_DIR_ENV = "RNN_CONFORMANCE_FLIGHT_DIR"
"""The directory of this run's flight records, one file per process (xdist workers inherit it)."""


def record_path(directory: str, worker: str | None) -> str:
    """The flight record of the xdist worker ``worker`` (``gw0``), or of a lone process."""
    return os.path.join(directory, f"{worker or 'main'}.json")


def _arguments(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in kwargs.items())


class FlightRecorder:
    """Writes the call in progress to ``path`` before it runs (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._state: dict[str, Any] = {"pid": os.getpid(), "property": None, "call": None}

    def close(self) -> None:
        """Stop recording and close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _write(self) -> None:
        if self._fd < 0:
            return
        data = json.dumps(self._state).encode()
        os.pwrite(self._fd, data, 0)
        os.ftruncate(self._fd, len(data))

    def begin(
        self,
        nodeid: str | None,
        device: str | None,
        phase: str = "call",
        subject: str | None = None,
    ) -> None:
        """A property (``nodeid``) of ``subject`` starts ``phase`` on ``device``; no call yet."""
        self._state.update(
            property=nodeid, device=device, subject=subject, phase=phase, call=None, event=None
        )
        self._write()

    def end(self) -> None:
        """The property is over: nothing of it runs any more."""
        self.begin(None, None, phase="between properties")

    def before_build(self, spec: str, kwargs: Mapping[str, Any], device: Any, dtype: Any) -> None:
        """Record the construction ``spec(**kwargs)`` about to run."""
        where = f", device={str(device)!r}, dtype={dtype}"
        self._state.update(
            event="construction",
            target=spec,
            arguments=dict(_jsonable(kwargs)),
            call=f"{spec}({_arguments(kwargs)}{where})",
        )
        self._write()

    def before_call(
        self,
        spec: str,
        built_with: Mapping[str, Any],
        module: Any,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> None:
        """Record the call ``module(*args, **kwargs)`` about to run."""
        mode = "training" if getattr(module, "training", False) else "eval"
        self._state.update(
            event="forward call",
            target=spec,
            arguments=dict(_jsonable(built_with)),
            call=f"{spec}({_arguments(built_with)}).forward({describe_values(args, kwargs)})"
            f" in {mode} mode",
        )
        self._write()

    def after_call(self, spec: str, module: Any, result: Any) -> None:
        """The call returned: keep it in the record, marked as finished."""
        if self._state.get("event") == "forward call":
            self._state["event"] = "forward call (returned)"
            self._write()


def _jsonable(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value if isinstance(value, bool | int | float | str | type(None)) else repr(value)
        for name, value in kwargs.items()
    }


def read_record(path: str) -> dict[str, Any] | None:
    """The flight record at ``path``, or None if there is none (or it is unreadable)."""
    try:
        with open(path, encoding="utf-8") as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def describe_exit(returncode: int | None) -> str:
    """How a process ended, from its exit status (negative: killed by that signal).

    >>> describe_exit(-11)
    'was killed by signal SIGSEGV (11)'
    >>> describe_exit(3)
    'exited with status 3 (os._exit or a fatal error in native code)'
    """
    if returncode is None:
        return "died (its exit status could not be read)"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        text = f"was killed by signal {name} ({-returncode})"
        if -returncode == signal.SIGKILL:
            text += ": the kernel's out-of-memory killer, or another process, killed it"
        return text
    return f"exited with status {returncode} (os._exit or a fatal error in native code)"


def crash_message(record: dict[str, Any] | None, how: str, nodeid: str) -> str:
    """The failure message of a property whose process died running the target."""
    if record is None or record.get("property") != nodeid:
        return (
            f"the process running {nodeid} {how}; no flight record of it was written, so "
            "the call that was running is unknown (the process died outside a target call "
            "recorded by the suite)"
        )
    call = record.get("call")
    event = record.get("event") or ""
    if call is None:
        doing = f"during the property's {record.get('phase', 'call')}, between target calls"
    elif event.endswith("(returned)"):
        doing = f"after the target call {call} had returned"
    else:
        doing = f"in the {event} {call}"
    return (
        f"the target crashed the process: it {how} {doing}. A target must raise an "
        "exception for a call it cannot run, never kill its process (this is the call as "
        "the flight record wrote it just before it ran)"
    )


_WATCHER = r"""
import json, os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the watched process's to handle
said = sys.stdin.buffer.read()
if said != b"done":
    try:
        with open(sys.argv[1], encoding="utf-8") as file:
            record = json.load(file)
    except (OSError, ValueError):
        record = None
    if record and record.get("property"):
        sys.stderr.write(
            "\nrnn-conformance: the pytest process died while running "
            f"{record['property']}; the flight record (the call in progress):\n"
            f"  {record.get('event') or 'no target call'}: {record.get('call')}\n"
            "Run the properties under the rnn-conformance runner, or with pytest -n 1, to "
            "have a crash reported as a failure and the run go on.\n"
        )
"""


class Watcher:
    """A process that prints the flight record if the watched process dies unannounced."""

    def __init__(self, path: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", _WATCHER, path],
            stdin=subprocess.PIPE,
            close_fds=True,
        )

    def stop(self) -> None:
        """The watched process ends normally: the watcher exits without a word."""
        stdin = self._process.stdin
        if stdin is not None:
            try:
                stdin.write(b"done")
                stdin.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()


def start_watcher(path: str) -> Watcher:
    """Start a :class:`Watcher` of this process's flight record at ``path``."""
    return Watcher(path)
