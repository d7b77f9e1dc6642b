"""An exported nn.RNN accepts a 3-D ``hx`` with unbatched input, which eager rejects.

Found by ``rnn-conformance --transform export`` on torch 2.13.0 (CPU). Standalone, torch
only. Eager nn.RNN raises "For unbatched 2-D input, hx should also be 2-D but got 3-D
tensor"; the artefact of ``torch.export`` (exported from a valid unbatched call) returns
an output of the wrong rank instead, silently.

    python examples/findings/export_rnn_accepts_3d_hx_with_unbatched_input.py

Exit code 0 and "REPRODUCED" while the finding holds; 1 once the artefact rejects it.
"""

import sys

import torch
from torch import nn
from torch.export import export


def main() -> int:
    """Run the reproduction; 0 while the finding holds."""
    module = nn.RNN(3, 4).eval()
    x, bad_hx = torch.randn(2, 3), torch.randn(1, 4, 4)
    try:
        module(x, bad_hx)
    except RuntimeError as exc:
        print(f"eager: RuntimeError: {exc}")
    artefact = export(module, (torch.randn(2, 3), torch.randn(1, 4))).module()
    try:
        output, h_n = artefact(x, bad_hx)
    except Exception as exc:
        print(f"export: {type(exc).__name__}: {exc}")
        print("NOT REPRODUCED")
        return 1
    print(f"export: accepted; output {tuple(output.shape)}, h_n {tuple(h_n.shape)}")
    print("REPRODUCED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
