"""The fixed text of every script: comparing results, describing values, ``main``.

It runs in the script, not here: it may use only torch and the standard library, and it
reads the names (``ORACLE_NAME``, ``PARTS``, ``ATOL``, ``run``, ``oracle``) that
:mod:`rnn_conformance.repro.scripts` writes above it.
"""

REPRO_MARK = "# Standalone reproduction of an rnn-conformance failure"

COMPARE = '''

def compare(name, got, want, problems):
    """Append to problems every way got differs from want (types, shapes, values)."""
    if isinstance(want, PackedSequence):
        if not isinstance(got, PackedSequence):
            problems.append(f"{name} is a {type(got).__name__}, {ORACLE_NAME}'s a PackedSequence")
            return
        for part in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            g, w = getattr(got, part), getattr(want, part)
            if (g is None) != (w is None) or (w is not None and not torch.equal(g.cpu(), w.cpu())):
                problems.append(f"{name}.{part} is {g}, {ORACLE_NAME}'s {w}")
        compare(f"{name}.data", got.data, want.data, problems)
        return
    if isinstance(want, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(want):
            problems.append(f"{name} is {describe(got)}, {ORACLE_NAME}'s {describe(want)}")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            compare(PARTS.get((name, i), f"{name}[{i}]"), g, w, problems)
        return
    if not isinstance(got, torch.Tensor):
        problems.append(f"{name} is {describe(got)}, {ORACLE_NAME}'s {describe(want)}")
        return
    wrong = [
        f"{what} {getattr(got, what)} (not {getattr(want, what)})"
        for what in ("shape", "dtype", "device")
        if getattr(got, what) != getattr(want, what)
    ]
    if wrong:
        problems.append(f"{name} has " + ", ".join(wrong))
    if got.shape != want.shape or got.numel() == 0:
        return
    g, w = got.detach().double().cpu(), want.detach().double().cpu()
    error = (g - w).abs().where(~(g.isnan() & w.isnan()), 0.0)
    bad = ~(error <= ATOL)  # a NaN in one of them counts as a difference
    if bad.any():
        worst = tuple(int(i) for i in bad.nonzero()[error[bad].nan_to_num(torch.inf).argmax()])
        problems.append(
            f"{name} differs from {ORACLE_NAME}'s in {int(bad.sum())} of {g.numel()} elements; "
            f"at {worst}: {g[worst].item():.9g} vs {w[worst].item():.9g} "
            f"(|difference| {error[worst].item():.3g}, allowed {ATOL:.3g})"
        )
'''

HELPERS = '''

def describe(value):
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}, {value.dtype}"
    if isinstance(value, tuple | list):
        parts = ", ".join(map(describe, value))
        return f"a {type(value).__name__} of {len(value)}: ({parts})"
    return f"an instance of {type(value).__name__}"


def load(spec):
    """The implementation named by 'module:attr'."""
    module_name, _, attr = spec.partition(":")
    found = importlib.import_module(module_name)
    for part in attr.split("."):
        found = getattr(found, part)
    return found
'''

MAIN = """

def main(spec=DEFAULT_TARGET):
    got, want = run(load(spec)), oracle()
    problems = []
    if isinstance(want, Exception):
        # The target must raise the same type as torch (NotImplementedError is no rejection).
        expected = f"{ORACLE_NAME} raises {type(want).__name__}: {want}"
        if not isinstance(got, Exception):
            problems.append(f"returned {describe(got)}; {expected}")
        elif isinstance(got, NotImplementedError) or not isinstance(got, type(want)):
            problems.append(f"raised {type(got).__name__}: {got}; {expected}")
    elif isinstance(got, Exception):
        returns = f"{ORACLE_NAME} returns {describe(want)}"
        problems.append(f"raised {type(got).__name__}: {got}; {returns}")
    else:
        compare("the result", got, want, problems)
    for problem in problems:
        print(f"{spec}: {problem}")
    if not problems:
        print(f"{spec} agrees with {ORACLE_NAME} on this call")
    return 1 if problems else 0


if __name__ == "__main__":
    if TARGET_PATH:
        sys.path.insert(0, TARGET_PATH)
    sys.exit(main(*sys.argv[1:2]))
"""
