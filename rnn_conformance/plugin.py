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

Profiles (``--hypothesis-profile``): ``dev`` (10 examples), ``default`` (100),
``ci`` (derandomized, ``print_blob``, no database; loaded when ``CI`` is set) and
``thorough`` (1000).
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import settings

from rnn_conformance.devices import DeviceUnavailableError, TF32Policy, parse_devices
from rnn_conformance.harness import Suite
from rnn_conformance.target import DEFAULT_TARGET, Target, TargetSpecError

IMPL_ENV = "RNN_CONFORMANCE_IMPL"
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
    spec = _target_spec(config)
    try:
        target = Target.from_spec(spec)
    except TargetSpecError as exc:
        raise pytest.UsageError(f"--rnn-impl: {exc}") from None
    device_text = config.getoption("--device")
    if device_text is None:
        device_text = os.environ.get(DEVICE_ENV, "cpu")
    try:
        devices = parse_devices(device_text)
    except DeviceUnavailableError as exc:
        raise pytest.UsageError(f"--device: {exc}") from None
    tf32 = TF32Policy(allowed=bool(config.getoption("--allow-tf32")))
    tf32.apply()
    config.stash[_SUITE] = Suite(target=target, tf32=tf32)
    config.stash[_DEVICES] = devices


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
        f"rnn-conformance: {suite.tf32.describe()}",
    ]


def suite_of(config: pytest.Config) -> Suite:
    """The resolved target and TF32 policy of this run."""
    return config.stash[_SUITE]


def devices_of(config: pytest.Config) -> list[str]:
    """The devices this run checks, in order."""
    return config.stash[_DEVICES]
