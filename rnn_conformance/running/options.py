"""The suite's settings, declared once for the pytest plugin and the ``rnn-conformance`` runner.

Each :class:`Option` has one key; pytest spells it ``--rnn-<key>`` (every pytest option of
this plugin carries the prefix, so that it never collides with another project's options)
and the runner ``--<key>``. Help texts and defaults come from this table for both, and
:func:`collect` records where each value came from, so that an error names the spelling the
user actually typed (``--impl``, ``--rnn-impl`` or ``$RNN_CONFORMANCE_IMPL``).

This module imports nothing heavy: the plugin loads it in every pytest session of an
environment where the suite is installed.

>>> OPTIONS["impl"].pytest_name, OPTIONS["impl"].runner_name
('--rnn-impl', '--impl')
>>> collect({"device": "cuda"}, style="runner", environ={})["device"]
Setting(value='cuda', source='--device')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rnn_conformance.constants import ALL_FAMILIES, DEFAULT_FAMILY, DEFAULT_TRANSFORM

__all__ = [
    "OPTIONS",
    "SPELLING_ENV",
    "Option",
    "Setting",
    "Style",
    "collect",
]

SPELLING_ENV = "RNN_CONFORMANCE_SPELLING"
"""Set to ``runner`` by the runner, so that messages name the options as typed there."""

Style = Literal["pytest", "runner"]


@dataclass(frozen=True)
class Option:
    """One setting of the suite: its key, default, environment variable and help."""

    key: str
    help: str
    default: Any = None
    metavar: str | None = None
    env: str | None = None
    flag: bool = False
    type: type = str
    default_text: str | None = None

    @property
    def pytest_name(self) -> str:
        """The pytest spelling, always prefixed: ``--rnn-cell-impl``."""
        return "--rnn-" + self.key.replace("_", "-")

    @property
    def runner_name(self) -> str:
        """The ``rnn-conformance`` spelling: ``--cell-impl``."""
        return "--" + self.key.replace("_", "-")

    def name(self, style: Style) -> str:
        """The spelling for ``style``."""
        return self.pytest_name if style == "pytest" else self.runner_name

    def parser_arguments(self) -> dict[str, Any]:
        """Keyword arguments for pytest's ``addoption`` and argparse's ``add_argument``.

        The default is None, so that :func:`collect` can tell an absent option from one
        given with its default value.
        """
        if self.flag:
            return {"action": "store_true", "default": None, "help": self.help_text()}
        return {
            "default": None,
            "type": self.type,
            "metavar": self.metavar,
            "help": self.help_text(),
        }

    def help_text(self) -> str:
        """The help with its default and environment variable appended."""
        if self.flag:
            return self.help
        default = self.default if self.default_text is None else self.default_text
        if isinstance(default, float):
            default = f"{default:g}"
        default = "none" if default in (None, "") else str(default)
        env = f"${self.env}, else " if self.env else ""
        return f"{self.help} (default: {env}{default})"


OPTIONS: dict[str, Option] = {
    option.key: option
    for option in (
        Option(
            "family",
            "recurrent families to check, a comma list or " + ALL_FAMILIES + " "
            "(rnn-conformance --help lists them), all in one session; each family's torch "
            "module and cell are its default targets",
            DEFAULT_FAMILY,
            "FAMILY",
            env="RNN_CONFORMANCE_FAMILY",
        ),
        Option(
            "transform",
            "transforms applied to the targets before the properties see them: eager, "
            "compile[:eager|aot_eager|inductor], export, a comma list or " + ALL_FAMILIES + "; "
            "each is a subject of its own",
            DEFAULT_TRANSFORM,
            "TRANSFORM",
            env="RNN_CONFORMANCE_TRANSFORM",
        ),
        Option(
            "impl",
            "implementation under test, as module:attr",
            None,
            "MODULE:ATTR",
            env="RNN_CONFORMANCE_IMPL",
            default_text="the family's torch module, torch.nn:RNN for rnn",
        ),
        Option(
            "cell_impl",
            "cell implementation under test, as module:attr",
            None,
            "MODULE:ATTR",
            env="RNN_CONFORMANCE_CELL_IMPL",
            default_text="the family's torch cell, torch.nn:RNNCell for rnn",
        ),
        Option(
            "device",
            "devices every property runs on: cpu, cuda, cuda:N, all, or a comma list",
            "cpu",
            "DEVICES",
            env="RNN_CONFORMANCE_DEVICE",
        ),
        Option(
            "unsupported",
            "comma list of capabilities the module target lacks, added to its "
            "rnn_conformance_unsupported attribute",
            "",
            "CAPABILITIES",
        ),
        Option(
            "cell_unsupported",
            "comma list of capabilities the cell target lacks, added to its "
            "rnn_conformance_unsupported attribute",
            "",
            "CAPABILITIES",
        ),
        Option(
            "skips",
            "file of property node ids (or substrings), one per line, to skip",
            None,
            "FILE",
        ),
        Option(
            "xfails",
            "file of known failures, one per line: a property node id (or substring), "
            "optional [device=...] and [dtype=...] scopes, and '# reason'; each is "
            "xfailed strictly, so that a fix fails the run",
            None,
            "FILE",
            env="RNN_CONFORMANCE_XFAILS",
        ),
        Option(
            "activation_error",
            "declared absolute error of the module target's tanh and sigmoid, in units of the "
            "dtype's unit roundoff u",
            None,
            "UNITS",
            type=float,
            default_text="the target's rnn_conformance_activation_error attribute, else 0",
        ),
        Option(
            "cell_activation_error",
            "declared absolute tanh and sigmoid error of the cell target, in units of u",
            None,
            "UNITS",
            type=float,
            default_text="the cell's rnn_conformance_activation_error attribute, else 0",
        ),
        Option(
            "timeout",
            "fail a property that runs longer than this many seconds (a hanging target); "
            "0 disables",
            600.0,
            "SECONDS",
            type=float,
        ),
        Option(
            "allow_tf32",
            "keep TF32 on for CUDA float32 and judge float32 at TF32 matmul precision "
            "(default: TF32 disabled for the run)",
            False,
            flag=True,
        ),
    )
}
"""Every setting, by key."""


@dataclass(frozen=True)
class Setting:
    """A setting's value and where it came from (an option spelling or ``$VARIABLE``)."""

    value: Any
    source: str


def collect(
    given: Mapping[str, Any], *, style: Style, environ: Mapping[str, str]
) -> dict[str, Setting]:
    """Every option's value: as given, else from its environment variable, else the default.

    ``given`` maps keys to the values parsed from the command line (None when absent).
    """
    settings = {}
    if environ.get(SPELLING_ENV) == "runner":
        style = "runner"  # pytest started by the runner: name what the user typed there
    for key, option in OPTIONS.items():
        value = given.get(key)
        source = option.name(style)
        if value is None and option.env and environ.get(option.env) is not None:
            value, source = environ[option.env], f"${option.env}"
        if value is None:
            value = option.default
        settings[key] = Setting(value, source)
    return settings
