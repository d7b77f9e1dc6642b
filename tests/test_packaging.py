"""The declared dependency ranges are the tested ones.

CI's second environment installs ``.ci/oldest-constraints.txt``; these tests keep that file
equal to pyproject.toml's lower bounds, so that a raised or lowered bound in one place
without the other fails here instead of leaving a bound that CI never tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
CONSTRAINTS = ROOT / ".ci" / "oldest-constraints.txt"


def _declared() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    return [Requirement(line) for line in lines]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for raw in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{CONSTRAINTS.name}: {line!r} is not an exact pin"
        assert req.name not in pins, f"{CONSTRAINTS.name}: {req.name} pinned twice"
        pins[req.name] = Version(spec.version)
    return pins


def _lower_bound(req: Requirement) -> Version:
    bounds = [Version(s.version) for s in req.specifier if s.operator == ">="]
    assert len(bounds) == 1, f"pyproject.toml: {req} needs exactly one '>=' lower bound"
    return bounds[0]


def test_every_dependency_has_a_lower_bound_and_no_other_constraint():
    for req in _declared():
        _lower_bound(req)
        others = [str(s) for s in req.specifier if s.operator != ">="]
        assert not others, f"pyproject.toml: {req} constrains more than its lower bound"


def test_oldest_constraints_pin_exactly_the_lower_bounds():
    declared = {req.name: _lower_bound(req) for req in _declared()}
    pins = _pins()
    assert sorted(pins) == sorted(declared), (
        f"{CONSTRAINTS.name} pins {sorted(pins)}, pyproject.toml declares {sorted(declared)}"
    )
    for name, bound in declared.items():
        assert pins[name] == bound, (
            f"{name}: pyproject.toml says >={bound}, {CONSTRAINTS.name} pins =={pins[name]}"
        )


def test_torch_is_the_version_the_readme_installs_first():
    # The README and .ci/run install torch==2.13.0 before the package, and the error
    # contract and tolerances were measured on it: the lower bound must be that version.
    (torch,) = [req for req in _declared() if req.name == "torch"]
    assert _lower_bound(torch) == Version("2.13.0")
    assert "torch==2.13.0" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install torch==2.13.0" in (ROOT / "README.md").read_text(encoding="utf-8")
