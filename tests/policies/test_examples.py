"""The example policies: each loads, checks, and passes its own tests, which could fail."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from policies.checking import check
from policies.document import PolicyDocument, PolicyTest, load_path
from policies.testing import run_tests

EXAMPLES = sorted((Path(__file__).parents[2] / "policies" / "examples").glob("*.yaml"))


def test_there_are_enough_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_an_example_loads_checks_and_passes_its_tests(path: Path) -> None:
    document = load_path(path)
    assert document.id == path.stem
    assert 2 <= len(document.tests) <= 4
    assert all(p.basis.strip() for p in document.parameters.values())
    results = run_tests(check(document))
    assert [r.message for r in results if not r.passed] == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_test_fails_when_its_expectation_is_wrong(path: Path) -> None:
    """A test that passes whatever the policy gives proves nothing."""
    document = load_path(path)
    for index, case in enumerate(document.tests):
        expect = case.expect
        wrong = (
            expect.model_copy(update={"eligible": False, "amount": None})
            if expect.eligible
            else expect.model_copy(update={"eligible": True})
        )
        mutated = _with_test(document, index, case.model_copy(update={"expect": wrong}))
        assert not run_tests(check(mutated))[index].passed, case.name


def _with_test(document: PolicyDocument, index: int, case: PolicyTest) -> PolicyDocument:
    tests = list(document.tests)
    tests[index] = case
    return document.model_copy(update={"tests": tests})


def test_two_examples_share_an_exclusivity_group() -> None:
    groups = Counter(load_path(path).group for path in EXAMPLES)
    assert any(group is not None and count >= 2 for group, count in groups.items())


def test_some_example_reads_today() -> None:
    assert any("$today" in load_path(path).eligibility for path in EXAMPLES)
