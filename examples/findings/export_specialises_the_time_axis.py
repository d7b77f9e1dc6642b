"""torch.export cannot keep the sequence length of nn.RNN, nn.LSTM or nn.GRU dynamic.

Found by ``rnn-conformance --transform export`` on torch 2.13.0 (CPU). Standalone, torch
only: exporting with the time axis marked dynamic fails with a constraint violation ("your
code specialized it to be a constant"), while the batch axis stays dynamic; an artefact
exported with the axis left to the exporter (``Dim.AUTO``) rejects every other length.

    python examples/findings/export_specialises_the_time_axis.py

Exit code 0 and "REPRODUCED" while the finding holds; 1 once torch keeps the axis dynamic.
"""

import sys

import torch
from torch import nn
from torch.export import Dim, export


def main() -> int:
    """Run the reproduction; 0 while the finding holds."""
    reproduced = []
    for cls in (nn.RNN, nn.LSTM, nn.GRU):
        module = cls(3, 4).eval()
        example = (torch.randn(2, 2, 3),)
        try:
            export(module, example, dynamic_shapes=({0: Dim("seq"), 1: Dim("batch")},))
        except Exception as exc:
            first = str(exc).strip().splitlines()[0]
            print(f"{cls.__name__}: dynamic seq refused: {type(exc).__name__}: {first}")
        else:
            print(f"{cls.__name__}: exported with a dynamic time axis")
            continue
        program = export(module, example, dynamic_shapes=({0: Dim.AUTO, 1: Dim("batch")},))
        artefact = program.module()
        artefact(torch.randn(2, 5, 3))  # another batch size: fine
        try:
            artefact(torch.randn(3, 2, 3))  # another length
        except Exception as exc:
            print(f"  a length-3 call of the length-2 artefact: {type(exc).__name__}: {exc}")
            reproduced.append(cls.__name__)
    print("REPRODUCED" if reproduced else "NOT REPRODUCED", reproduced)
    return 0 if reproduced else 1


if __name__ == "__main__":
    sys.exit(main())
