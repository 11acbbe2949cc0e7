"""Mutated scenarios fed to the loader: a valid Scenario or a clear ScenarioError, never a traceback."""

import copy

import yaml
from conftest import SCENARIOS, quickstart_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.scenario import Scenario, ScenarioError, load_scenario_text

BASE = quickstart_dict()
LINE = r"^\S+:(\d+|\?)?:? "

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["7d", "60s", "-1d", "1y", "0s", "H100-SXM", "air", "2023-13-45", "1e400"]),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(BASE) if p]


def _mutate(data, path, action, value, key):
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "extra" and isinstance(parent, dict):
        parent[key] = value
    return data


mutation = st.tuples(
    st.sampled_from(PATHS), st.sampled_from(["replace", "delete", "extra"]), junk, st.text(min_size=1, max_size=12)
)


def _check(text):
    try:
        result = load_scenario_text(text, source="fuzz.yaml", base_dir=SCENARIOS)
    except ScenarioError as exc:
        assert exc.problems
        for line in exc.problems:
            assert line.startswith("fuzz.yaml"), line
            assert "Traceback" not in line
        return
    assert isinstance(result, Scenario)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_scenarios_load_or_fail_clearly(mutations):
    data = copy.deepcopy(BASE)
    for path, action, value, key in mutations:
        try:
            data = _mutate(data, path, action, value, key)
        except (KeyError, IndexError, TypeError):
            continue  # the path vanished under an earlier mutation
    _check(yaml.safe_dump(data, sort_keys=False))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 4000), st.integers(1, 40), st.text(max_size=8))
def test_broken_yaml_text_fails_clearly(cut, length, insert):
    text = (SCENARIOS / "quickstart.yaml").read_text()
    _check(text[:cut] + insert + text[cut + length :])


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_fails_clearly(text):
    _check(text)
