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

>>> from rnn_conformance.running.options import collect
>>> facts = resolve(collect({}, style="runner", environ={}))
>>> facts.describe()["subjects"]
'rnn-cpu: torch.nn:RNN (cell torch.nn:RNNCell)'
>>> every = resolve(collect({"family": "all"}, style="runner", environ={}))
>>> [subject.id for subject in every.subjects]
['rnn-cpu', 'lstm-cpu', 'gru-cpu']
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

from rnn_conformance.constants import ALL_FAMILIES, DEFAULT_TRANSFORM
from rnn_conformance.generation.capabilities import (
    CapabilityError,
    declared_by_target,
    parse_capabilities,
    read_skips_file,
)
from rnn_conformance.harness import Subject
from rnn_conformance.harness.devices import DeviceUnavailableError, TF32Policy, parse_devices
from rnn_conformance.harness.target import Target, TargetSpecError
from rnn_conformance.harness.target import resolve as resolve_spec
from rnn_conformance.numerics.families import FAMILIES, Family, family_named
from rnn_conformance.running.options import OPTIONS, Setting
from rnn_conformance.running.xfails import XfailEntry, XfailsFileError, read_xfails_file
from rnn_conformance.transforms import ALL_TRANSFORMS, KNOWN, UnknownTransform, transform_named

__all__ = [
    "RunFacts",
    "UsageProblem",
    "family_of_torch_class",
    "resolve",
    "subject_for",
    "versions",
]

ACTIVATION_ERROR_ATTRIBUTE = "rnn_conformance_activation_error"


class UsageProblem(ValueError):
    """A setting is unusable; the message starts with the option as the user spelled it."""


@dataclass(frozen=True)
class RunFacts:
    """A resolved run: its subjects, devices, skips, known failures and time limit."""

    subjects: tuple[Subject, ...]
    devices: list[str]
    skips: list[str]
    skips_file: str | None
    timeout: float
    timeout_option: str = "--rnn-timeout"
    xfails: tuple[XfailEntry, ...] = ()
    xfails_file: str | None = None

    @property
    def families(self) -> list[Family]:
        """The recurrent families checked, in the order given."""
        return list({subject.family.name: subject.family for subject in self.subjects}.values())

    @property
    def transforms(self) -> list[str]:
        """The transforms applied, in the order given (``eager``: none)."""
        return list(dict.fromkeys(subject.transform for subject in self.subjects))

    @property
    def tf32(self) -> TF32Policy:
        """The run's TF32 policy (every subject's)."""
        return self.subjects[0].tf32

    def subjects_on(self, device: str) -> list[Subject]:
        """The subjects on ``device``: one per family and target, in order."""
        return [subject for subject in self.subjects if subject.device == device]

    def describe(self, *, profile: str | None = None, seed: int | None = None) -> dict[str, str]:
        """The run's facts as ordered ``name: text`` pairs, for headers and reports."""
        first = self.subjects_on(self.devices[0])
        facts = {
            "families": ", ".join(f"{f.name} ({f.title})" for f in self.families),
            "subjects": "; ".join(
                f"{s.name}-{'|'.join(self.devices)}: {s.target.spec} (cell {s.cell_target.spec})"
                if len(self.devices) > 1
                else f"{s.id}: {s.target.spec} (cell {s.cell_target.spec})"
                for s in first
            ),
            "transforms": "; ".join(_transform_text(name) for name in self.transforms),
            "construction": _per_subject(first, lambda s: _construction(s.target, s.cell_target)),
            "devices": ", ".join(self.devices),
            "TF32": self.tf32.describe(),
            "unsupported capabilities": _per_subject(
                first, lambda s: _gaps(s.unsupported, s.cell_unsupported)
            ),
            "declared activation error": _per_subject(
                first, lambda s: _accuracy(s.activation_error, s.cell_activation_error)
            ),
            "skips file": self.skips_file or "none",
            "xfails file": _xfails(self.xfails_file, self.xfails),
            "time limit per property": f"{self.timeout:g} s" if self.timeout else "none",
        }
        if profile is not None:
            facts["Hypothesis profile"] = profile + (f", seed {seed}" if seed is not None else "")
        facts["versions"] = ", ".join(f"{k} {v}" for k, v in versions().items())
        return facts


def _transform_text(name: str) -> str:
    """A transform and its declared limits, for the header."""
    transform = transform_named(name)
    if transform is None:
        return f"{name} (the targets as they are)"
    gaps = [f"{gap.capability}: {gap.reason}" for gap in transform.gaps]
    gaps += [f"cell {gap.capability}: {gap.reason}" for gap in transform.cell_gaps]
    return f"{name} (declared limits: {'; '.join(gaps)})" if gaps else name


def _per_subject(subjects: list[Subject], text: Callable[[Subject], str]) -> str:
    """One text when every subject has the same, else ``name: text`` for each."""
    texts = [text(subject) for subject in subjects]
    if len(set(texts)) == 1:
        return texts[0]
    return "; ".join(f"{s.name}: {t}" for s, t in zip(subjects, texts, strict=True))


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


def _families(setting: Setting) -> list[Family]:
    """``--rnn-family``: a name, a comma list, or ``all``, in the order given."""
    names = [part.strip() for part in str(setting.value).split(",") if part.strip()]
    if not names:
        raise UsageProblem(
            f"{setting.source}: no family given; known: {', '.join(FAMILIES)} (or all)"
        )
    families: list[Family] = []
    for name in names:
        try:
            chosen = list(FAMILIES.values()) if name == ALL_FAMILIES else [family_named(name)]
        except ValueError as exc:
            raise UsageProblem(f"{setting.source}: {exc} (or {ALL_FAMILIES})") from None
        families += [family for family in chosen if family not in families]
    return families


def _transforms(setting: Setting) -> list[str]:
    """``--rnn-transform``: a name, a comma list, or ``all``, in the order given."""
    names = [part.strip() for part in str(setting.value).split(",") if part.strip()]
    if not names:
        raise UsageProblem(f"{setting.source}: no transform given; known: {', '.join(KNOWN)}")
    chosen: list[str] = []
    for name in names:
        expanded = list(ALL_TRANSFORMS) if name == ALL_FAMILIES else [name]
        for each in expanded:
            try:
                transform = transform_named(each)
            except UnknownTransform as exc:
                raise UsageProblem(f"{setting.source}: {exc}") from None
            canonical = DEFAULT_TRANSFORM if transform is None else transform.name
            if canonical not in chosen:
                chosen.append(canonical)
    return chosen


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


def family_of_torch_class(factory: Any) -> tuple[Family, str] | None:
    """The family whose torch module or cell class ``factory`` is or subclasses, if any.

    Returns the family and which class matched (``"module"`` or ``"cell"``), so that a
    target of the wrong family is a usage error naming the right ``--rnn-family``.

    >>> import torch
    >>> family_of_torch_class(torch.nn.RNNCell)
    (<family rnn: nn.RNN>, 'cell')
    >>> family_of_torch_class(print) is None
    True
    """
    if not isinstance(factory, type):
        return None
    for family in FAMILIES.values():
        for role, spec in (("module", family.module_target), ("cell", family.cell_target)):
            if issubclass(factory, resolve_spec(spec)):
                return family, role
    return None


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


def _declared(target: Target, gaps: Setting, accuracy: Setting) -> Target:
    """The target with its declarations: its own attributes and the options' additions."""
    return replace(
        target,
        unsupported=_capabilities(target, gaps),
        activation_error=_activation_error(target, accuracy),
    )


def _targets(settings: Mapping[str, Setting], family: Family) -> tuple[Target, Target]:
    target = _target(settings["impl"], family, family.module_target)
    cell_target = _target(settings["cell_impl"], family, family.cell_target)
    _check_family(target, "module", family, settings)
    _check_family(cell_target, "cell", family, settings)
    return (
        _declared(target, settings["unsupported"], settings["activation_error"]),
        _declared(cell_target, settings["cell_unsupported"], settings["cell_activation_error"]),
    )


def subject_for(
    family: Family | str,
    *,
    impl: str | None = None,
    cell_impl: str | None = None,
    device: str = "cpu",
    tf32: TF32Policy | None = None,
    label: str = "",
) -> Subject:
    """A subject of ``family`` checking ``impl`` and ``cell_impl`` (``module:attr``).

    Each target defaults to the family's torch class and carries what its factory
    declares (its ``rnn_conformance_unsupported`` and ``rnn_conformance_activation_error``
    attributes). For plugins that check several targets in one session
    (:func:`rnn_conformance.running.hooks.configure.use_subjects`); raises :class:`UsageProblem`.

    >>> subject_for("gru", impl="torch.nn:GRU", label="mine").id
    'mine-cpu'
    """
    kind = family_named(family)
    given = {"impl": impl, "cell_impl": cell_impl}
    settings = {
        key: Setting(given.get(key), f"{key}={given.get(key)!r}")
        for key in ("impl", "cell_impl", "unsupported", "cell_unsupported")
    }
    settings |= {key: Setting(None, key) for key in ("activation_error", "cell_activation_error")}
    settings["family"] = Setting(kind.name, "family")
    target, cell_target = _targets(settings, kind)
    policy = TF32Policy(allowed=False) if tf32 is None else tf32
    return Subject(kind, target, cell_target, device, policy, label=label)


def resolve(settings: Mapping[str, Setting]) -> RunFacts:
    """Resolve the settings of :func:`rnn_conformance.running.options.collect`.

    Raises :class:`UsageProblem` for a bad value, naming the option as it was typed.
    """
    families = _families(settings["family"])
    if len(families) > 1:
        for key in ("impl", "cell_impl"):
            if settings[key].value is not None:
                raise UsageProblem(
                    f"{settings[key].source}: a target belongs to one family, but "
                    f"{settings['family'].source} selects {', '.join(f.name for f in families)}; "
                    "name its family alone"
                )
    targets = [(family, *_targets(settings, family)) for family in families]
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
    tf32 = TF32Policy(allowed=bool(settings["allow_tf32"].value))
    transforms = _transforms(settings["transform"])
    subjects = tuple(
        Subject(
            family,
            target.transformed(transform_named(transform), cell=False),
            cell_target.transformed(transform_named(transform), cell=True),
            device,
            tf32,
            transform=transform,
        )
        for family, target, cell_target in targets
        for transform in transforms
        for device in devices
    )
    return RunFacts(
        subjects,
        devices,
        skips,
        skips_setting.value,
        seconds,
        timeout.source,
        xfails=xfails,
        xfails_file=None if xfails_setting.value is None else str(xfails_setting.value),
    )
