"""The preflight: build the default configuration once, before any property runs.

A target whose construction is broken for every configuration (a constructor that
rejects ``device=``, a missing dependency, a wrong signature) would otherwise fail every
property with the same exception: 65 failures and thousands of lines of log that say one
thing. So the session first builds each subject's default configuration, module and cell,
on every selected device, in float32. If that fails, the run stops before the properties
with one error naming the call and the exception, and the exit code
:data:`~rnn_conformance.constants.PREFLIGHT_FAILED`, distinct from pytest's own. Only
construction is checked here: a target that builds but fails its calls is the
properties' business, one verdict each.

>>> from rnn_conformance.numerics.families import family_named
>>> from rnn_conformance.harness.target import Target
>>> problem(Target.from_spec("torch.nn:GRU", family_named("gru")), None, ["cpu"])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rnn_conformance.harness.target import Target, TargetContractError
from rnn_conformance.numerics.config import RNNConfig

__all__ = ["default_config", "problem"]


def default_config(target: Target) -> RNNConfig:
    """The configuration the preflight builds: small sizes, every other argument nn's default."""
    return RNNConfig(input_size=3, hidden_size=4, family=target.family)


def problem(target: Target, cell_target: Target | None, devices: Sequence[str]) -> str | None:
    """Why the default configuration cannot be built, or None if it can."""
    config = default_config(target)
    builds = [(target, config.constructor_kwargs(), "module")]
    if cell_target is not None:
        builds.append((cell_target, config.cell_kwargs(), "cell"))
    for candidate, kwargs, role in builds:
        for device in devices:
            try:
                candidate.build_with(kwargs, device=device, dtype=torch.float32)
            except TargetContractError as exc:
                how = "" if candidate.takes_device_and_dtype else f" ({candidate.construction})"
                return (
                    f"preflight: the {role} target cannot be built in the default "
                    f"configuration{how}, so no property could run; fix this first:\n  {exc}"
                )
    return None
