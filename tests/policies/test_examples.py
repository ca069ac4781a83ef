"""The example policies: each loads, checks, and passes its own tests, which could fail."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from matching import service as matching_service
from policies import service as policy_service
from policies.checking import check
from policies.document import PolicyDocument, PolicyTest, load_path
from policies.testing import run_tests

FOLDER = Path(__file__).parents[2] / "policies" / "examples"
EXAMPLES = sorted(FOLDER.glob("*.yaml"))

# The examples written in the fuller language (issue 12), each with the constructs it shows.
LANGUAGE_EXAMPLES = {
    "hz-2020-local-employment-award": ("/", ".length > 0"),
    "hz-2020-tourism-premium-refund": ("/ 12", "??", "industry[0]"),
    "hz-2020-job-retention-bonus": ("//",),
    "hz-2020-digital-tech-award": ("=~~ '(?i)", ".starts_with(", "??"),
}


def test_the_thirteen_examples() -> None:
    """README.md, ARCHITECTURE.md and the demo count them: change those with this list."""
    assert [p.stem for p in EXAMPLES] == [
        "hz-2020-digital-tech-award",
        "hz-2020-epidemic-supplies",
        "hz-2020-high-tech-award",
        "hz-2020-job-retention-bonus",
        "hz-2020-local-employment-award",
        "hz-2020-local-wage-support",
        "hz-2020-new-hire-subsidy",
        "hz-2020-sme-rent-relief",
        "hz-2020-spring-festival-stay",
        "hz-2020-startup-hiring-subsidy",
        "hz-2020-startup-subsidy",
        "hz-2020-tourism-premium-refund",
        "hz-2020-ui-refund",
    ]


@pytest.mark.parametrize("policy_id", LANGUAGE_EXAMPLES)
def test_a_language_example_uses_its_constructs_and_passes_through_the_reference(
    policy_id: str,
) -> None:
    """Every case passes, and none by an evaluation error: the guards (`employees` counted
    before dividing by them, `?? 0` for a null) keep every test firm an answer."""
    document = load_path(FOLDER / f"{policy_id}.yaml")
    rules = f"{document.eligibility} {document.amount}"
    assert [c for c in LANGUAGE_EXAMPLES[policy_id] if c not in rules] == []
    results = run_tests(check(document))
    assert [r.message for r in results if not r.passed] == []
    assert [r.name for r in results if r.got.error is not None] == []
    assert any(r.got.qualifies for r in results)
    assert not all(r.got.qualifies for r in results)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_an_example_would_be_published(path: Path) -> None:
    """The publish path as `qinqing policy publish` and the demo take it: checked, tested, and
    compiled by the matcher (the new examples need issue 12's compiler)."""
    approved = policy_service.approve(load_path(path), path.name, [matching_service.compile_issues])
    assert all(result.passed for result in approved.tests)


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
