"""Turning a run's settings into what the properties use, for the plugin and the runner alike.

:func:`resolve` imports the targets, validates capabilities, devices, the skips file and the
declared precision, and returns :class:`RunFacts`. Any bad value raises :class:`UsageProblem`
naming the option as the user spelled it, so the runner can refuse a bad run before pytest
starts (and writes no report), and pytest reports the same problem as a usage error.
:meth:`RunFacts.describe` is the one description of a run: the pytest header, the runner's
console and both report files print it.

>>> from rnn_conformance.options import collect
>>> facts = resolve(collect({}, style="runner", environ={}))
>>> facts.describe()["target"]
'torch.nn:RNN (cell torch.nn:RNNCell)'
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata

from rnn_conformance.capabilities import (
    CapabilityError,
    declared_by_target,
    parse_capabilities,
    read_skips_file,
)
from rnn_conformance.devices import DeviceUnavailableError, TF32Policy, parse_devices
from rnn_conformance.harness import Suite
from rnn_conformance.options import Setting
from rnn_conformance.target import Target, TargetSpecError

__all__ = ["RunFacts", "UsageProblem", "resolve", "versions"]

ACTIVATION_ERROR_ATTRIBUTE = "rnn_conformance_activation_error"


class UsageProblem(ValueError):
    """A setting is unusable; the message starts with the option as the user spelled it."""


@dataclass(frozen=True)
class RunFacts:
    """A resolved run: the suite the properties use, the devices, skips and time limit."""

    suite: Suite
    devices: list[str]
    skips: list[str]
    skips_file: str | None
    timeout: float
    timeout_option: str = "--rnn-timeout"

    def describe(self, *, profile: str | None = None, seed: int | None = None) -> dict[str, str]:
        """The run's facts as ordered ``name: text`` pairs, for headers and reports."""
        suite = self.suite
        cell = suite.cell_target.spec if suite.cell_target is not None else "none"
        facts = {
            "target": f"{suite.target.spec} (cell {cell})",
            "devices": ", ".join(self.devices),
            "TF32": suite.tf32.describe(),
            "unsupported capabilities": _gaps(suite.unsupported, suite.cell_unsupported),
            "declared tanh error": _accuracy(suite.activation_error, suite.cell_activation_error),
            "skips file": self.skips_file or "none",
            "time limit per property": f"{self.timeout:g} s" if self.timeout else "none",
        }
        if profile is not None:
            facts["Hypothesis profile"] = profile + (f", seed {seed}" if seed is not None else "")
        facts["versions"] = ", ".join(f"{k} {v}" for k, v in versions().items())
        return facts


def _gaps(rnn: frozenset[str], cell: frozenset[str]) -> str:
    def listed(names: frozenset[str]) -> str:
        return ", ".join(sorted(names)) or "none"

    if rnn == cell:
        return listed(rnn)
    return f"{listed(rnn)}; cell: {listed(cell)}"


def _accuracy(rnn: float, cell: float) -> str:
    def text(units: float) -> str:
        return f"{units:g} u" if units else "none (0)"

    return text(rnn) if rnn == cell else f"{text(rnn)}; cell: {text(cell)}"


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a verdict depends on."""
    found = {"python": platform.python_version()}
    for package in ("rnn-conformance", "torch", "numpy", "hypothesis", "pytest"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def _target(setting: Setting) -> Target:
    try:
        return Target.from_spec(str(setting.value))
    except TargetSpecError as exc:
        raise UsageProblem(f"{setting.source}: {exc}") from None


def _capabilities(target: Target, setting: Setting) -> frozenset[str]:
    try:
        return declared_by_target(target.factory) | parse_capabilities(
            setting.value or "", source=setting.source
        )
    except CapabilityError as exc:
        raise UsageProblem(str(exc)) from None


def _activation_error(target: Target, setting: Setting) -> float:
    source = setting.source
    value = setting.value
    if value is None:
        source = f"{ACTIVATION_ERROR_ATTRIBUTE} on {target.spec}"
        value = getattr(target.factory, ACTIVATION_ERROR_ATTRIBUTE, 0.0)
    try:
        units = float(value)
    except (TypeError, ValueError):
        raise UsageProblem(f"{source}: expected a number of units, got {value!r}") from None
    if not units >= 0:
        raise UsageProblem(f"{source}: the activation error must be >= 0, got {units:g}")
    return units


def resolve(settings: Mapping[str, Setting]) -> RunFacts:
    """Resolve :func:`rnn_conformance.options.collect`'s settings; raise :class:`UsageProblem`."""
    target = _target(settings["impl"])
    cell_target = _target(settings["cell_impl"])
    skips_setting = settings["skips"]
    skips: list[str] = []
    if skips_setting.value is not None:
        try:
            skips = read_skips_file(skips_setting.value)
        except OSError as exc:
            raise UsageProblem(
                f"{skips_setting.source}: cannot read {skips_setting.value!r}: {exc}"
            ) from None
    device = settings["device"]
    try:
        devices = parse_devices(str(device.value))
    except DeviceUnavailableError as exc:
        raise UsageProblem(f"{device.source}: {exc}") from None
    timeout = settings["timeout"]
    try:
        seconds = float(timeout.value)
    except (TypeError, ValueError):
        raise UsageProblem(f"{timeout.source}: expected seconds, got {timeout.value!r}") from None
    if not seconds >= 0:
        raise UsageProblem(f"{timeout.source}: must be >= 0 seconds (0 disables), got {seconds:g}")
    suite = Suite(
        target=target,
        tf32=TF32Policy(allowed=bool(settings["allow_tf32"].value)),
        cell_target=cell_target,
        unsupported=_capabilities(target, settings["unsupported"]),
        activation_error=_activation_error(target, settings["activation_error"]),
        cell_unsupported=_capabilities(cell_target, settings["cell_unsupported"]),
        cell_activation_error=_activation_error(cell_target, settings["cell_activation_error"]),
    )
    return RunFacts(suite, devices, skips, skips_setting.value, seconds, timeout.source)
