"""pytest-bdd looks up the step definitions a test module sees once per module.

For every step of every scenario, pytest-bdd 9 (scenario.find_fixturedefs_for_step) asks
pytest, for each fixture name there is, which of its definitions the test sees, and keeps
the step definitions whose parser matches the step. Each `target_fixture` value a step
gives registers one more definition under that name for the rest of the session (visible
to its own test only), so every later step searched a longer list: the search cost more
than the steps themselves. The step definitions a test sees depend only on its module (or
class), where they are defined: they are listed once per module, and each step is matched
against that list as pytest-bdd matches it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from _pytest.fixtures import FixtureDef, FixtureManager
from _pytest.nodes import Node
from pytest_bdd.compat import get_fixture_names, getfixturedefs
from pytest_bdd.parser import Step
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

# The package's `scenario` (the decorator) hides the module of that name.
_scenario_module = importlib.import_module("pytest_bdd.scenario")

_Definition = tuple[FixtureDef[object], StepFunctionContext]
_seen: dict[str, list[_Definition]] = {}


def _step_definitions(fixturemanager: FixtureManager, node: Node) -> list[_Definition]:
    where = node.parent.nodeid if node.parent is not None else node.nodeid
    found = _seen.get(where)
    if found is None:
        found = _seen[where] = [
            (fixturedef, context)
            for name in get_fixture_names(fixturemanager=fixturemanager)
            for fixturedef in getfixturedefs(fixturemanager, name, node) or []
            if (context := step_function_context_registry.get(fixturedef.func)) is not None
        ]
    return found


def _find_fixturedefs_for_step(
    step: Step, fixturemanager: FixtureManager, node: Node
) -> Iterator[FixtureDef[object]]:
    """The definitions (visible to `node`) whose parser matches `step`, as pytest-bdd's."""
    for fixturedef, context in _step_definitions(fixturemanager, node):
        if context.type is not None and context.type != step.type:
            continue
        if context.parser.is_matching(step.name):
            yield fixturedef


def find_step_definitions_once() -> None:
    """Install the lookup that lists a module's step definitions once (idempotent)."""
    setattr(_scenario_module, "find_fixturedefs_for_step", _find_fixturedefs_for_step)  # noqa: B010
