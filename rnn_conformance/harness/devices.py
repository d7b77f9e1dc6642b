"""Which devices the suite runs on, and the TF32 policy on CUDA.

cuDNN RNNs use TF32 matmuls by default on Ampere and newer GPUs, which rounds products
to 10 mantissa bits. The suite either disables TF32 for the whole run (the default,
so float32 is compared at float32 precision) or, with ``--allow-tf32``, leaves it on
and widens the float32 matmul roundoff to TF32's 2**-11 in the tolerance policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

__all__ = [
    "DeviceUnavailableError",
    "TF32Policy",
    "check_available",
    "parse_devices",
]

_DEVICE = re.compile(r"^(cpu|cuda)(:\d+)?$")


class DeviceUnavailableError(ValueError):
    """A requested device does not exist on this machine or is not understood."""


def parse_devices(text: str) -> list[str]:
    """Expand ``--device``: ``cpu``, ``cuda``, ``cuda:N``, ``all``, or a comma list.

    Raises :class:`DeviceUnavailableError` for a device that is unknown or not present.

    >>> parse_devices("cpu")
    ['cpu']
    """
    requested = [part.strip() for part in text.split(",") if part.strip()]
    if not requested:
        raise DeviceUnavailableError("no device given; use cpu, cuda, cuda:N or all")
    devices: list[str] = []
    for name in requested:
        if name == "all":
            expanded = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        else:
            if not _DEVICE.match(name):
                raise DeviceUnavailableError(
                    f"unknown device {name!r}; use cpu, cuda, cuda:N or all"
                )
            check_available(name)
            expanded = [name]
        devices.extend(d for d in expanded if d not in devices)
    return devices


def check_available(name: str) -> None:
    """Raise :class:`DeviceUnavailableError` unless ``name`` can hold tensors here."""
    if name == "cpu":
        return
    if not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"device {name!r} requested but CUDA is not available "
            f"(torch {torch.__version__}, built with CUDA {torch.version.cuda})"
        )
    index = int(name.split(":")[1]) if ":" in name else 0
    if index >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
        )


@dataclass(frozen=True)
class TF32Policy:
    """Whether TF32 stays enabled on CUDA; the tolerance policy follows it."""

    allowed: bool

    def apply(self) -> None:
        """Set torch's global TF32 switches for cuDNN and cuBLAS accordingly."""
        torch.backends.cudnn.allow_tf32 = self.allowed
        torch.backends.cuda.matmul.allow_tf32 = self.allowed

    def widens(self, device: str) -> bool:
        """True when float32 results on ``device`` are judged at TF32 matmul precision."""
        return self.allowed and device.startswith("cuda")

    def describe(self) -> str:
        """The line in the report header."""
        if self.allowed:
            return "TF32 allowed on CUDA; float32 tolerances widened to TF32 matmul roundoff"
        return "TF32 disabled on CUDA (cuDNN and cuBLAS) so float32 is judged at float32 precision"
