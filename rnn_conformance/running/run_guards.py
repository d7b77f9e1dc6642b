"""pytest hooks that keep a run alive, and its verdicts true, whatever the target does.

Registered with the session's hooks (:mod:`rnn_conformance.running.hooks`) in sessions that run the
properties.

* **A crashing target** (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, ``os._exit``, the kernel's
  out-of-memory kill). Each process keeps a flight record of the target call in progress
  (:mod:`rnn_conformance.running.flight_record`). Under pytest-xdist (``pytest -n N``; the
  ``rnn-conformance`` runner always uses it) a crash kills one worker: xdist reports the
  property it was running as failed and starts a fresh worker for the rest (we rely on
  that, rather than on an executor of our own). :func:`pytest_handlecrashitem` turns
  xdist's report into the suite's: the signal, read from the worker's exit status, and
  the call from its flight record, with the property's device. The limit on replaced
  workers is lifted (xdist's default, four per worker, would end the run after a few
  crashing properties) unless ``--max-worker-restart`` is given. In a single process
  (``pytest -n 0``) a crash cannot be survived: faulthandler prints the traceback and a
  watcher process prints the flight record.
* **SIGTERM** (a CI job's time limit, ``timeout 900 rnn-conformance ...``) is handled as
  Ctrl-C: the run stops and a partial report, marked interrupted, is still written.
* **Process-wide float state**: a property whose target turned on flush-to-zero fails
  saying so, and the state is restored (:mod:`rnn_conformance.harness.float_state`).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Generator
from typing import Any

import pytest

from rnn_conformance.harness.float_state import FloatStateGuard
from rnn_conformance.harness.target_calls import OBSERVERS
from rnn_conformance.running.flight_record import (
    FLIGHT_DIR_ENV,
    FlightRecorder,
    crash_message,
    describe_exit,
    read_record,
    record_path,
    start_watcher,
)

__all__ = [
    "UNLIMITED_WORKER_RESTARTS",
    "pytest_configure",
    "pytest_handlecrashitem",
    "pytest_runtest_call",
    "pytest_runtest_protocol",
    "pytest_unconfigure",
    "xdist_worker",
]

UNLIMITED_WORKER_RESTARTS = 1_000_000
"""``--max-worker-restart`` when not given: every crashing property gets a fresh worker."""

_STATE = pytest.StashKey[dict[str, Any]]()
_DEVICE = "rnn_device"
_SUBJECT = "rnn_subject"  # rnn_conformance.running.hooks.subjects.SUBJECT_PROPERTY
_FAILURE = "rnn_failure"


def xdist_worker(config: pytest.Config) -> str | None:
    """The xdist worker id of this process (``gw0``); None in a controller or lone process.

    Read from the worker's own configuration, not from ``PYTEST_XDIST_WORKER``: a pytest
    started from inside a worker (a self-test's subprocess) inherits that variable.
    """
    workerinput = getattr(config, "workerinput", None)
    return None if workerinput is None else str(workerinput.get("workerid", "gw?"))


def _is_controller(config: pytest.Config) -> bool:
    return xdist_worker(config) is None and getattr(config.option, "dist", "no") != "no"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Start the flight record (and the watcher, or lift xdist's restart limit)."""
    state: dict[str, Any] = {"guard": FloatStateGuard()}
    config.stash[_STATE] = state
    worker = xdist_worker(config)
    directory = os.environ.get(FLIGHT_DIR_ENV) if worker is not None else None
    if directory is None or not os.path.isdir(directory):
        # Each controller or lone process has its own (a pytest run inside a worker must
        # not share its parent's); its workers inherit the variable, set before they start.
        directory = tempfile.mkdtemp(prefix="rnn-conformance-flight-")
        state["created"] = (directory, os.environ.get(FLIGHT_DIR_ENV))
        os.environ[FLIGHT_DIR_ENV] = directory
    state["directory"] = directory
    recorder = FlightRecorder(record_path(directory, worker))
    state["recorder"] = recorder
    OBSERVERS.extend([recorder, state["guard"]])
    if worker is None:
        state["watcher"] = start_watcher(recorder.path)
        in_main_thread = threading.current_thread() is threading.main_thread()
        if in_main_thread and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            state["sigterm"] = signal.signal(signal.SIGTERM, _interrupt)
    if _is_controller(config) and getattr(config.option, "maxworkerrestart", None) is None:
        config.option.maxworkerrestart = str(UNLIMITED_WORKER_RESTARTS)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop recording; the process ends normally, so the watcher says nothing."""
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    recorder = state["recorder"]
    for observer in (recorder, state["guard"]):
        if observer in OBSERVERS:
            OBSERVERS.remove(observer)
    recorder.close()
    if "watcher" in state:
        state["watcher"].stop()
    if "sigterm" in state:
        signal.signal(signal.SIGTERM, state["sigterm"])
    if "created" in state:
        directory, inherited = state["created"]
        shutil.rmtree(directory, ignore_errors=True)
        if inherited is None:
            os.environ.pop(FLIGHT_DIR_ENV, None)
        else:
            os.environ[FLIGHT_DIR_ENV] = inherited


def _device(item: pytest.Item) -> str | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    subject = params.get("subject")
    return None if subject is None else str(subject.device)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator:
    """Keep the property in the flight record while it runs."""
    recorder: FlightRecorder = item.config.stash[_STATE]["recorder"]
    subject = dict(item.user_properties).get(_SUBJECT)
    recorder.begin(item.nodeid, _device(item), subject=None if subject is None else str(subject))
    try:
        return (yield)
    finally:
        recorder.end()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Fail a property whose target turned on flush-to-zero (it was restored at once)."""
    guard: FloatStateGuard = item.config.stash[_STATE]["guard"]
    guard.problem()  # anything left from another test is not this property's
    result = yield
    problem = guard.problem()
    if problem is not None:
        raise AssertionError(problem)
    return result


def _exit_status(worker: Any) -> int | None:
    """The crashed worker process's exit status, from execnet's process handle."""
    process = getattr(getattr(getattr(worker, "gateway", None), "_io", None), "popen", None)
    if process is None:
        return None
    try:
        return process.wait(timeout=10)
    except Exception:
        return None


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: Any) -> None:
    """Make xdist's report of a crashed worker the suite's: signal, call, subject, device."""
    worker = getattr(report, "node", None)
    worker_id = getattr(getattr(worker, "gateway", None), "id", None)
    config = getattr(worker, "config", None)
    state = config.stash.get(_STATE, None) if config is not None else None
    directory = state["directory"] if state else os.environ.get(FLIGHT_DIR_ENV, "")
    record = read_record(record_path(directory, worker_id)) if worker_id else None
    how = describe_exit(_exit_status(worker))
    message = crash_message(record, how, crashitem)
    xdist_said = str(report.longrepr)
    message += f"\n(pytest-xdist: {xdist_said}; the run went on in a new worker)"
    report.longrepr = message
    # The crash happened while the property ran: its call phase, for every report.
    report.when = "call"  # type: ignore[assignment]
    # A record left by another property (the worker died between two) is not this one's.
    ours = record if record is not None and record.get("property") == crashitem else {}
    device, call = ours.get("device"), ours.get("call")
    details = {
        "message": message,
        "example": f"the call in progress: {call}\n(the crash ended Hypothesis' search, so "
        "this example is the first that crashed, not a shrunk one)"
        if call
        else "",
        "raised_at": "",
        "crash": how,
        "xdist": xdist_said,
    }
    properties = [(_FAILURE, details)]
    if device is not None:
        properties.insert(0, (_DEVICE, device))
    if ours.get("subject") is not None:
        properties.insert(0, (_SUBJECT, ours["subject"]))
    report.user_properties = properties
