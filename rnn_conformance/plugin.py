"""pytest plugin: options, Hypothesis profiles, report header and the suite fixtures.

Registered through the ``pytest11`` entry point, so its options exist wherever the
package is installed::

    pytest --pyargs rnn_conformance.properties --rnn-impl mypkg.rnn:MyRNN --device cuda

Options:
    ``--rnn-impl module:attr``  the implementation under test (default ``torch.nn:RNN``,
                                or the ``RNN_CONFORMANCE_IMPL`` environment variable)
    ``--device cpu|cuda|cuda:N|all``  devices every property runs on (default cpu, or
                                ``RNN_CONFORMANCE_DEVICE``); a comma list is accepted
    ``--allow-tf32``            leave TF32 on for CUDA and widen float32 tolerances
    ``--rnn-cell-impl module:attr``  the RNNCell under test (default ``torch.nn:RNNCell``)
    ``--rnn-unsupported a,b``   capabilities the target lacks (see ``capabilities``)
    ``--rnn-skips FILE``        node ids (or substrings) of properties to skip
    ``--rnn-activation-error U``  declared absolute tanh error of the target, in units of u
    ``--rnn-timeout SECONDS``   fail a property that runs longer (default 600; 0 = off)

Profiles (``--hypothesis-profile``): ``dev`` (10 examples), ``default`` (100),
``ci`` (derandomized, ``print_blob``, no database; loaded when ``CI`` is set) and
``thorough`` (1000).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from typing import Any

import pytest
import torch
from hypothesis import settings

from rnn_conformance.capabilities import (
    CAPABILITIES,
    CapabilityError,
    declared_by_target,
    parse_capabilities,
    read_skips_file,
    skip_reason,
)
from rnn_conformance.devices import DeviceUnavailableError, TF32Policy, parse_devices
from rnn_conformance.harness import Suite
from rnn_conformance.target import DEFAULT_CELL_TARGET, DEFAULT_TARGET, Target, TargetSpecError

IMPL_ENV = "RNN_CONFORMANCE_IMPL"
CELL_ENV = "RNN_CONFORMANCE_CELL_IMPL"
DEVICE_ENV = "RNN_CONFORMANCE_DEVICE"

# Every profile disables the per-example deadline: building an RNN and a first call on
# a new shape take unpredictable time (allocator warm-up, xdist load), and a deadline
# would make the suite flaky. Hangs are a target bug and are not masked by this.
settings.register_profile("dev", max_examples=10, deadline=None)
settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=100, deadline=None, derandomize=True, database=None, print_blob=True
)
settings.register_profile("thorough", max_examples=1000, deadline=None)

_SUITE = pytest.StashKey[Suite]()
_DEVICES = pytest.StashKey[list[str]]()
_SKIPS = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the suite's options."""
    group = parser.getgroup("rnn-conformance", "RNN conformance suite")
    group.addoption(
        "--rnn-impl",
        default=None,
        metavar="MODULE:ATTR",
        help=f"RNN implementation under test (default ${IMPL_ENV} or {DEFAULT_TARGET}).",
    )
    group.addoption(
        "--device",
        default=None,
        metavar="DEVICES",
        help=f"cpu, cuda, cuda:N, all, or a comma list (default ${DEVICE_ENV} or cpu).",
    )
    group.addoption(
        "--rnn-cell-impl",
        default=None,
        metavar="MODULE:ATTR",
        help=f"RNNCell implementation under test (default ${CELL_ENV} or {DEFAULT_CELL_TARGET}).",
    )
    group.addoption(
        "--rnn-unsupported",
        default="",
        metavar="CAPABILITIES",
        help="Comma list of capabilities the target lacks: " + ", ".join(CAPABILITIES) + ".",
    )
    group.addoption(
        "--rnn-skips",
        default=None,
        metavar="FILE",
        help="File of property node ids (or substrings) to skip, one per line.",
    )
    group.addoption(
        "--rnn-activation-error",
        type=float,
        default=None,
        metavar="UNITS",
        help="Declared absolute tanh error of the target, in units of the dtype's unit "
        "roundoff (default: the target's rnn_conformance_activation_error, else 0).",
    )
    group.addoption(
        "--rnn-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="Fail a property running longer than this (a hanging target); 0 disables.",
    )
    group.addoption(
        "--allow-tf32",
        action="store_true",
        default=False,
        help="Keep TF32 on for CUDA float32 and widen tolerances to TF32 precision.",
    )


def _target_spec(config: pytest.Config) -> str:
    return config.getoption("--rnn-impl") or os.environ.get(IMPL_ENV) or DEFAULT_TARGET


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load the profile, resolve the target and devices; bad values are usage errors."""
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile(
            "ci" if os.environ.get("CI", "").lower() in ("1", "true") else "default"
        )
    config.addinivalue_line(
        "markers",
        "rnn_requires(*capabilities): the property needs these target capabilities "
        "(skipped, with the reason, when the target declares one unsupported)",
    )
    try:
        target = Target.from_spec(_target_spec(config))
    except TargetSpecError as exc:
        raise pytest.UsageError(f"--rnn-impl: {exc}") from None
    cell_spec = (
        config.getoption("--rnn-cell-impl") or os.environ.get(CELL_ENV) or DEFAULT_CELL_TARGET
    )
    try:
        cell_target = Target.from_spec(cell_spec)
    except TargetSpecError as exc:
        raise pytest.UsageError(f"--rnn-cell-impl: {exc}") from None
    try:
        unsupported = declared_by_target(target.factory) | parse_capabilities(
            config.getoption("--rnn-unsupported")
        )
    except CapabilityError as exc:
        raise pytest.UsageError(str(exc)) from None
    skips_path = config.getoption("--rnn-skips")
    skips: list[str] = []
    if skips_path is not None:
        try:
            skips = read_skips_file(skips_path)
        except OSError as exc:
            raise pytest.UsageError(f"--rnn-skips: cannot read {skips_path!r}: {exc}") from None
    config.stash[_SKIPS] = skips
    device_text = config.getoption("--device")
    if device_text is None:
        device_text = os.environ.get(DEVICE_ENV, "cpu")
    try:
        devices = parse_devices(device_text)
    except DeviceUnavailableError as exc:
        raise pytest.UsageError(f"--device: {exc}") from None
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        # The xdist workers inherit this: one BLAS thread each in NumPy (the reference).
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(variable, "1")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each xdist worker already has a core: intra-op threads would oversubscribe the
        # machine (measured: -n 2 slower than -n 0 on 2 cores without this).
        torch.set_num_threads(1)
    tf32 = TF32Policy(allowed=bool(config.getoption("--allow-tf32")))
    tf32.apply()
    activation_error = config.getoption("--rnn-activation-error")
    if activation_error is None:
        activation_error = float(getattr(target.factory, "rnn_conformance_activation_error", 0.0))
    if not activation_error >= 0:
        raise pytest.UsageError(f"activation error must be >= 0, got {activation_error}")
    config.stash[_SUITE] = Suite(
        target=target,
        tf32=tf32,
        cell_target=cell_target,
        unsupported=unsupported,
        activation_error=activation_error,
    )
    config.stash[_DEVICES] = devices


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip properties needing undeclared capabilities, and those the skips file lists."""
    suite = config.stash.get(_SUITE, None)
    if suite is None:
        return
    skips = config.stash.get(_SKIPS, [])
    used: set[str] = set()
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "device" in callspec.params:
            # Travels with the report (also from xdist workers) for the conformance matrix.
            item.user_properties.append(("rnn_device", callspec.params["device"]))
        needed = {name for mark in item.iter_markers("rnn_requires") for name in mark.args}
        unknown = needed - CAPABILITIES.keys()
        if unknown:
            raise pytest.UsageError(f"{item.nodeid} requires unknown capabilities {unknown}")
        missing = needed & suite.unsupported
        if missing:
            item.add_marker(pytest.mark.skip(reason=skip_reason(missing)))
        for pattern in skips:
            if pattern in item.nodeid:
                used.add(pattern)
                item.add_marker(
                    pytest.mark.skip(reason=f"listed in --rnn-skips file as {pattern!r}")
                )
    for pattern in skips:
        if pattern not in used:
            warnings.warn(
                pytest.PytestConfigWarning(
                    f"--rnn-skips: {pattern!r} matches no collected property"
                ),
                stacklevel=1,
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Fail a property that runs longer than ``--rnn-timeout`` (a hanging target)."""
    limit = item.config.getoption("--rnn-timeout")
    if (
        "suite" not in getattr(item, "fixturenames", ())
        or not limit
        or not hasattr(signal, "SIGALRM")
        or not _in_main_thread()
    ):
        return (yield)

    def expire(signum: int, frame: Any) -> None:
        raise PropertyTimeout(
            f"{item.name} ran longer than --rnn-timeout={limit:g} s: the target may hang "
            "(set --rnn-timeout=0 to disable)"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class PropertyTimeout(BaseException):
    """A property exceeded ``--rnn-timeout``.

    A BaseException, so that neither the target's own ``except Exception`` nor
    Hypothesis' shrinking (which would re-run the hanging call) can swallow it.
    """


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Print the target, devices, torch version, TF32 policy and Hypothesis profile."""
    import torch

    suite = config.stash.get(_SUITE, None)
    if suite is None:
        return []
    profile = settings.get_current_profile_name()
    return [
        f"rnn-conformance: target {suite.target.spec}; devices {', '.join(config.stash[_DEVICES])}",
        f"rnn-conformance: torch {torch.__version__}, numpy {sys.modules['numpy'].__version__}, "
        f"hypothesis profile {profile!r} ({settings.default.max_examples} examples)",
        f"rnn-conformance: {suite.tf32.describe()}; cell target {suite.cell_target.spec}"
        if suite.cell_target is not None
        else f"rnn-conformance: {suite.tf32.describe()}",
        "rnn-conformance: declared tanh absolute error: "
        + (f"{suite.activation_error:g} u" if suite.activation_error else "none (0)"),
        "rnn-conformance: unsupported capabilities: "
        + (", ".join(sorted(suite.unsupported)) or "none declared"),
    ]


def suite_of(config: pytest.Config) -> Suite:
    """The resolved target and TF32 policy of this run."""
    return config.stash[_SUITE]


def devices_of(config: pytest.Config) -> list[str]:
    """The devices this run checks, in order."""
    return config.stash[_DEVICES]
