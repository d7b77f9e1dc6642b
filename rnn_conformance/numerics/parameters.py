"""nn.RNN-family parameter names, built and parsed in this one place.

A recurrent module registers, layer by layer and within a layer direction by direction,
``weight_ih``, ``weight_hh``, then (with ``bias``) ``bias_ih`` and ``bias_hh``, and then any
parameters of its family (nn.LSTM's ``weight_hr``). The name of each is its stem, the layer
suffix ``_l{k}`` and, for the reverse direction, ``_reverse``.

>>> parameter_name("weight_ih", layer=1, direction=1)
'weight_ih_l1_reverse'
>>> parse_parameter_name("bias_hh_l0")
('bias_hh', 0, 0)
"""

from __future__ import annotations

import re

__all__ = [
    "direction_suffix",
    "parameter_name",
    "parse_parameter_name",
    "rename_layer",
]

_NAME = re.compile(r"^([a-z]+_[a-z]+)_l(\d+)(_reverse)?$")


def direction_suffix(layer: int, direction: int) -> str:
    """``_l{layer}``, with ``_reverse`` for direction 1.

    >>> direction_suffix(2, 0), direction_suffix(0, 1)
    ('_l2', '_l0_reverse')
    """
    return f"_l{layer}" + ("_reverse" if direction else "")


def parameter_name(stem: str, *, layer: int, direction: int) -> str:
    """The registered name of parameter ``stem`` (``weight_ih``, ...) of a layer-direction."""
    return stem + direction_suffix(layer, direction)


def parse_parameter_name(name: str) -> tuple[str, int, int] | None:
    """``(stem, layer, direction)`` of a registered name, or ``None`` if it is not one.

    >>> parse_parameter_name("weight_hr_l3_reverse"), parse_parameter_name("weight")
    (('weight_hr', 3, 1), None)
    """
    match = _NAME.match(name)
    if match is None:
        return None
    stem, layer, reverse = match.groups()
    return stem, int(layer), 1 if reverse else 0


def rename_layer(
    name: str,
    *,
    to_layer: int = 0,
    directions: tuple[int, ...] = (0, 1),
    to_direction: int | None = None,
) -> tuple[str, int] | None:
    """``name`` moved to layer ``to_layer`` with its layer, or ``None`` outside ``directions``.

    For slicing a stacked module's parameters into a one-layer module's; ``to_direction``
    also moves it to that direction (a reverse direction's weights as a forward module's).

    >>> rename_layer("weight_hh_l2_reverse")
    ('weight_hh_l0_reverse', 2)
    >>> rename_layer("weight_hh_l2_reverse", directions=(0,)) is None
    True
    >>> rename_layer("bias_ih_l0_reverse", to_direction=0)
    ('bias_ih_l0', 0)
    """
    parsed = parse_parameter_name(name)
    if parsed is None:
        raise ValueError(f"{name!r} is not a recurrent module's parameter name")
    stem, layer, direction = parsed
    if direction not in directions:
        return None
    moved = direction if to_direction is None else to_direction
    return parameter_name(stem, layer=to_layer, direction=moved), layer
