"""Turning a run's settings into what the properties use, for the plugin and the runner alike.

:func:`resolve` selects the recurrent family, imports the targets (by default the family's
torch module and cell), validates capabilities, devices, the skips and xfails files and the
declared precision, and returns :class:`RunFacts`. A target that is, or subclasses, the
torch class of another family (or of the other role: a cell given as the module) is a usage
error naming the option value that selects it. Any bad value raises :class:`UsageProblem`
naming the option as the user spelled it, so the runner can refuse a bad run before pytest
starts (and writes no report), and pytest reports the same problem as a usage error.
:meth:`RunFacts.describe` is the one description of a run: the pytest header, the runner's
console and both report files print it.

>>> from rnn_conformance.options import collect
>>> facts = resolve(collect({}, style="runner", environ={}))
>>> facts.describe()["family"], facts.describe()["target"]
('rnn (nn.RNN)', 'torch.nn:RNN (cell torch.nn:RNNCell)')
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
from rnn_conformance.families import Family, family_named, family_of_torch_class
from rnn_conformance.harness import Suite
from rnn_conformance.options import OPTIONS, Setting
from rnn_conformance.target import Target, TargetSpecError
from rnn_conformance.target import resolve as resolve_spec
from rnn_conformance.xfails import XfailEntry, XfailsFileError, read_xfails_file

__all__ = ["RunFacts", "UsageProblem", "resolve", "versions"]

ACTIVATION_ERROR_ATTRIBUTE = "rnn_conformance_activation_error"


class UsageProblem(ValueError):
    """A setting is unusable; the message starts with the option as the user spelled it."""


@dataclass(frozen=True)
class RunFacts:
    """A resolved run: the suite, devices, skips, known failures and time limit."""

    suite: Suite
    devices: list[str]
    skips: list[str]
    skips_file: str | None
    timeout: float
    timeout_option: str = "--rnn-timeout"
    xfails: tuple[XfailEntry, ...] = ()
    xfails_file: str | None = None

    @property
    def family(self) -> Family:
        """The recurrent family checked (the suite's)."""
        return self.suite.family

    def describe(self, *, profile: str | None = None, seed: int | None = None) -> dict[str, str]:
        """The run's facts as ordered ``name: text`` pairs, for headers and reports."""
        suite = self.suite
        cell = suite.cell_target.spec if suite.cell_target is not None else "none"
        facts = {
            "family": f"{self.family.name} ({self.family.title})",
            "target": f"{suite.target.spec} (cell {cell})",
            "construction": _construction(suite.target, suite.cell_target),
            "devices": ", ".join(self.devices),
            "TF32": suite.tf32.describe(),
            "unsupported capabilities": _gaps(suite.unsupported, suite.cell_unsupported),
            "declared activation error": _accuracy(
                suite.activation_error, suite.cell_activation_error
            ),
            "skips file": self.skips_file or "none",
            "xfails file": _xfails(self.xfails_file, self.xfails),
            "time limit per property": f"{self.timeout:g} s" if self.timeout else "none",
        }
        if profile is not None:
            facts["Hypothesis profile"] = profile + (f", seed {seed}" if seed is not None else "")
        facts["versions"] = ", ".join(f"{k} {v}" for k, v in versions().items())
        return facts


def _construction(target: Target, cell: Target | None) -> str:
    """How the targets are built: with ``device=``/``dtype=``, or built and then moved."""
    if cell is not None and cell.construction != target.construction:
        return f"{target.construction}; cell: {cell.construction}"
    return target.construction


def _gaps(rnn: frozenset[str], cell: frozenset[str]) -> str:
    def listed(names: frozenset[str]) -> str:
        return ", ".join(sorted(names)) or "none"

    if rnn == cell:
        return listed(rnn)
    return f"{listed(rnn)}; cell: {listed(cell)}"


def _xfails(path: str | None, entries: tuple[XfailEntry, ...]) -> str:
    if path is None:
        return "none"
    return f"{path} ({len(entries)} known failure{'s' if len(entries) != 1 else ''})"


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


def _family(setting: Setting) -> Family:
    try:
        return family_named(str(setting.value))
    except ValueError as exc:
        every = ""
        if setting.value == "all":  # the runner's, which starts one session per family
            every = "; a pytest session checks one family (rnn-conformance --family all runs each)"
        raise UsageProblem(f"{setting.source}: {exc}{every}") from None


def _spelled(settings: Mapping[str, Setting], key: str) -> str:
    """Option ``key`` spelled as this run spells its options (``--rnn-family``, ``--family``)."""
    for name, setting in settings.items():
        if setting.source == OPTIONS[name].runner_name:
            return OPTIONS[key].runner_name
    return OPTIONS[key].pytest_name


def _target(setting: Setting, family: Family, default: str) -> Target:
    spec = default if setting.value is None else str(setting.value)
    try:
        return Target.from_spec(spec, family)
    except TargetSpecError as exc:
        raise UsageProblem(f"{setting.source}: {exc}") from None


_ROLES = {"module": ("impl", "module_target"), "cell": ("cell_impl", "cell_target")}


def _check_family(
    target: Target, role: str, family: Family, settings: Mapping[str, Setting]
) -> None:
    """Refuse a target that is another family's torch class, or the other role's class."""
    found = family_of_torch_class(target.factory)
    if found is None:
        return
    its_family, its_role = found
    its_class = getattr(its_family, _ROLES[its_role][1])
    source = settings[_ROLES[role][0]].source
    given = f"{source}={target.spec}" if source.startswith("$") else f"{source} {target.spec}"
    verb = "is" if target.factory is resolve_spec(its_class) else "subclasses"
    what = f"{given} {verb} {its_class}, {its_family.title}'s {its_role}"
    if its_family.name != family.name:
        raise UsageProblem(
            f"{what}: it belongs to family {its_family.name}, not {family.name}; "
            f"select it with {_spelled(settings, 'family')} {its_family.name}"
        )
    if its_role != role:
        raise UsageProblem(
            f"{what}, not its {role} ({getattr(family, _ROLES[role][1])}); give it with "
            f"{_spelled(settings, _ROLES[its_role][0])}"
        )


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
    family = _family(settings["family"])
    target = _target(settings["impl"], family, family.module_target)
    cell_target = _target(settings["cell_impl"], family, family.cell_target)
    _check_family(target, "module", family, settings)
    _check_family(cell_target, "cell", family, settings)
    skips_setting = settings["skips"]
    skips: list[str] = []
    if skips_setting.value is not None:
        try:
            skips = read_skips_file(skips_setting.value)
        except OSError as exc:
            raise UsageProblem(
                f"{skips_setting.source}: cannot read {skips_setting.value!r}: {exc}"
            ) from None
    xfails_setting = settings["xfails"]
    xfails: tuple[XfailEntry, ...] = ()
    if xfails_setting.value is not None:
        try:
            xfails = tuple(read_xfails_file(xfails_setting.value))
        except XfailsFileError as exc:
            raise UsageProblem(f"{xfails_setting.source}: {exc}") from None
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
        family=family,
    )
    return RunFacts(
        suite,
        devices,
        skips,
        skips_setting.value,
        seconds,
        timeout.source,
        xfails=xfails,
        xfails_file=None if xfails_setting.value is None else str(xfails_setting.value),
    )
