"""Registers the toy leaky family: the one registry line, for a session run with ``-p``.

A new family in the package is one line in ``rnn_conformance/families/__init__.py``'s
``FAMILIES``; a test cannot edit the package, so this plugin (``-p toy_family_plugin``,
with ``tests/`` on ``PYTHONPATH``) adds the same entry when pytest loads it, before the
session selects its subjects.
"""

from toy_families import TOY_LEAKY

from rnn_conformance.families import FAMILIES

FAMILIES[TOY_LEAKY.name] = TOY_LEAKY
