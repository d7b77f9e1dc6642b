# The plugin normally arrives through its pytest11 entry point; listing it here lets a
# checkout run before `pip install -e .` too (pytest skips it if already registered).
pytest_plugins = ["pytester", "rnn_conformance.plugin"]
