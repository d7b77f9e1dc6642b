"""Under a transform, one artefact serves every sequence length and batch size.

A deployed artefact is exported or compiled once, then called with whatever lengths and
batch sizes arrive. An exporter that keeps an axis static fails that deployment at the
first new length (executorch#5176, litert-torch#1062, pytorch#191855), so this property
calls one module of a drawn configuration with several lengths and batch sizes and fails,
naming the axis in the transform's own words, if the transform had to specialise one
(:meth:`rnn_conformance.transforms.Transform.specialised`). The other properties still
check such a transform: it keeps one artefact per length there, and this property reports
the specialisation once. Subjects without a transform (``eager``) have no artefact.
"""

import torch
from hypothesis import given
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import rnn_configs
from rnn_conformance.harness import TORCH_DTYPES, Subject, observe_config
from rnn_conformance.running.hooks.subjects import per_subject

NO_TRANSFORM = (
    "no subject of this run is transformed (--transform eager): the module itself runs, "
    "there is no artefact whose axes could be specialised"
)


def _transformed(subject: Subject) -> list:
    return ["artefact"] if subject.target.transform is not None else []


@per_subject("artefact", _transformed, when_none=NO_TRANSFORM)
@given(
    config=rnn_configs(max_hidden_size=8, max_layers=2),
    lengths=st.lists(st.integers(1, 6), min_size=2, max_size=3, unique=True),
    batches=st.lists(st.integers(1, 4), min_size=2, max_size=3, unique=True),
)
def test_one_artefact_serves_every_length_and_batch(subject, artefact, config, lengths, batches):
    observe_config(subject, config)
    dtype = TORCH_DTYPES["float32"]
    module = subject.target.build(config, device=subject.device, dtype=dtype).eval()
    for length in lengths:
        for batch in batches:
            shape = config.input_shape(length, batch)
            output, _ = subject.target.forward(
                module, torch.randn(shape, dtype=dtype, device=subject.device)
            )
            assert tuple(output.shape) == config.output_shape(length, batch), (
                f"output {tuple(output.shape)} for input {shape}, expected "
                f"{config.output_shape(length, batch)}"
            )
    specialised = subject.target.transform.specialised(module)
    assert not specialised, (
        f"{subject.transform} could not keep "
        + "; ".join(f"the {axis} axis dynamic ({why})" for axis, why in specialised.items())
        + f": one artefact of {config.describe()} does not serve lengths {lengths} and "
        f"batch sizes {batches}; a deployment would need one artefact per length"
    )
