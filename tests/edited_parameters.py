"""The broken families' shared trick: torch's own forward on parameters edited in a copy."""

import copy

import torch


def forward_with_edited_parameters(torch_class, module, input, hx, edit):
    """``torch_class.forward`` on a copy of ``module`` whose parameters ``edit`` changed.

    ``edit(name, parameter, module)`` is called under ``no_grad`` for every parameter of the
    copy, in registration order; the results carry no gradient to ``module``'s parameters.
    """
    edited = copy.deepcopy(module)
    with torch.no_grad():
        for name, parameter in edited.named_parameters():
            edit(name, parameter, edited)
    return torch_class.forward(edited, input, hx)
