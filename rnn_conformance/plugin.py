"""pytest plugin: the suite's options, and its hooks in sessions that run the properties.

Registered through the ``pytest11`` entry point, so it is loaded in every pytest session of
an environment where the package is installed. There it only adds options, all prefixed
``--rnn-`` so that they cannot collide with another project's; it imports no torch,
registers no Hypothesis profile and prints nothing. Only when the session's arguments
reach the properties (a path to them or above them, or ``--pyargs
rnn_conformance.properties``) does it register the session's hooks
(:mod:`rnn_conformance.running.hooks`): the profiles, subjects, header, time limit and gating::

    pytest --pyargs rnn_conformance.properties --rnn-impl mypkg.rnn:MyRNN --rnn-device cuda

``pytest --help`` lists the options with their defaults under "rnn-conformance"; they are
declared in :mod:`rnn_conformance.running.options`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from rnn_conformance.constants import PROPERTIES_DIR
from rnn_conformance.running.hooks import HOOK_MODULES
from rnn_conformance.running.options import OPTIONS

__all__ = ["register_session_hooks", "runs_the_properties"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the suite's options, each spelled ``--rnn-...``."""
    group = parser.getgroup("rnn-conformance", "RNN conformance suite")
    for option in OPTIONS.values():
        group.addoption(option.pytest_name, **option.parser_arguments())


def _argument_path(argument: str, config: pytest.Config) -> Path | None:
    """The file or directory a command-line argument names (a module, with --pyargs)."""
    name = argument.split("::")[0]
    if getattr(config.option, "pyargs", False):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin not in (None, "namespace"):
            origin = Path(spec.origin)
            return origin.parent if origin.name == "__init__.py" else origin
    path = Path(config.invocation_params.dir, name)
    return path.resolve() if path.exists() else None


def runs_the_properties(config: pytest.Config) -> bool:
    """Whether the session's arguments (or testpaths) reach the suite's properties.

    An argument above the properties counts only if pytest would descend to them: not
    when they lie in an installed environment below it, which pytest does not collect.
    """
    prefix = Path(sys.prefix).resolve()
    for argument in config.args:
        path = _argument_path(str(argument), config)
        if path is None:
            continue
        if path == PROPERTIES_DIR or PROPERTIES_DIR in path.parents:
            return True
        installed_below = prefix in PROPERTIES_DIR.parents and path in (prefix, *prefix.parents)
        if path in PROPERTIES_DIR.parents and not installed_below:
            return True
    return False


def register_session_hooks(config: pytest.Config) -> None:
    """Register the session's hooks (:mod:`rnn_conformance.running.hooks`) once for this session.

    The run guards (:mod:`rnn_conformance.running.run_guards`) among them survive crashing
    targets and SIGTERM.
    """
    for name in HOOK_MODULES:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.register(importlib.import_module(name), name)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """In sessions that run the properties, register the suite's hooks (before Hypothesis')."""
    if runs_the_properties(config):
        register_session_hooks(config)
