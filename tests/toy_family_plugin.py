"""Registers the toy leaky family: the one registry line, for a session run with ``-p``.

A new family in the package is one line in ``rnn_conformance/numerics/families/__init__.py``'s
``FAMILIES``; a test cannot edit the package, so this plugin (``-p toy_family_plugin``,
with ``tests/`` on ``PYTHONPATH``) adds the same entry when pytest loads it, before the
session selects its subjects.

The line runs in a hook, not on import: the self-tests' own session imports every module
under ``tests/`` (``--doctest-modules``), and must not gain a family by doing so.
"""

from toy_families import TOY_LEAKY

from rnn_conformance.numerics.families import FAMILIES


def pytest_addoption(parser, pluginmanager):
    """Called as soon as pytest registers this plugin, before any option is read."""
    FAMILIES[TOY_LEAKY.name] = TOY_LEAKY
