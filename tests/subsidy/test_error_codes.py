"""Every deliberate error has a stable code and its words in both languages (issue 14, point 3):
the classes are walked after importing every domain module, so a new error without a code, or a
code without its zh and en words, fails here rather than on an officer's screen."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from subsidy import i18n
from subsidy.errors import PREFIX, QinqingError, Term, key_of, placeholders, worded
from subsidy.registry.errors import PROBLEM_CODES, Problem, problem_code
from subsidy.registry.reader import read_source
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES
from subsidy.registry.validation import validate
from tests.subsidy.factories import employee, firms, make_uscc, write_csv
from tests.subsidy.test_validation import BAD_EMPLOYEE_CELLS, BAD_ENTERPRISE_CELLS

DOMAINS = ("subsidy", "policies", "matching", "payouts", "reports")


def _import_every_module() -> None:
    for name in DOMAINS:
        package = importlib.import_module(name)
        for found in pkgutil.walk_packages(package.__path__, name + "."):
            if ".migrations" not in found.name:  # Alembic's env runs on import
                importlib.import_module(found.name)


def _subclasses(cls: type[QinqingError]) -> Iterator[type[QinqingError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_classes() -> list[type[QinqingError]]:
    _import_every_module()
    ours = {c for c in _subclasses(QinqingError) if c.__module__.split(".")[0] in DOMAINS}
    return sorted({QinqingError, *ours}, key=lambda c: (c.__module__, c.__qualname__))


def errors_po(language: i18n.Language) -> dict[str, str]:
    path = i18n.LOCALE / language / "LC_MESSAGES" / "errors.po"
    with path.open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po, locale=language) if m.id}


def test_the_walk_finds_the_domains_errors() -> None:
    names = {c.__qualname__ for c in error_classes()}
    assert {"AlreadyRedeemed", "PolicyDocumentError", "MakerChecker", "SignInRefused"} <= names
    assert len(names) > 60


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_error_class_declares_a_code_with_words_in_both_languages(
    cls: type[QinqingError],
) -> None:
    assert "code" in cls.__dict__, f"{cls.__qualname__} declares no code of its own"
    zh, en = errors_po("zh"), errors_po("en")
    for code in cls.codes():
        assert re.fullmatch(r"[a-z]+(\.[a-z0-9_]+)+", code), code
        assert key_of(code) in zh, f"zh errors.po lacks {code}"
        assert key_of(code) in en, f"en errors.po lacks {code}"
        assert placeholders(zh[key_of(code)]) == placeholders(en[key_of(code)]), code


def test_codes_are_unique_across_classes() -> None:
    owner: dict[str, str] = {}
    for cls in error_classes():
        for code in cls.codes():
            assert code not in owner, f"{code}: {owner.get(code)} and {cls.__qualname__}"
            owner[code] = cls.__qualname__


def test_errors_po_has_the_same_keys_and_placeholders_in_both_languages() -> None:
    zh, en = errors_po("zh"), errors_po("en")
    assert set(zh) == set(en), sorted(set(zh) ^ set(en))
    for key, words in zh.items():
        assert placeholders(words) == placeholders(en[key]), key
        assert words.strip(), key
        assert en[key].strip(), key


VALUES_A_USER_TYPES = {"true", "false", "null", "payment", "return"}


def test_the_chinese_words_are_chinese() -> None:
    """Beyond the placeholders and the names of things (YAML, USCC, GB/T ...), a zh entry is
    written in Chinese: no English sentence left behind."""
    for key, words in errors_po("zh").items():
        if not key.startswith(PREFIX) or words.strip("{}") == "detail":
            continue
        bare = re.sub(r"\{[^}]*\}|`[^`]*`|'[^']*'|\([^)]*\)|（[^）]*）", "", words)
        english = set(re.findall(r"(?<![A-Za-z.])[a-z]{4,}", bare)) - VALUES_A_USER_TYPES
        assert not english, (key, english)


def test_english_is_todays_message_and_chinese_fills_the_same_fields() -> None:
    from subsidy.redemption.errors import AlreadyRedeemed

    refused = AlreadyRedeemed(uscc="91330106MA27XXXX0L", policy_id="flat-500")
    assert str(refused) == "91330106MA27XXXX0L has already redeemed flat-500"
    assert refused.code == "redemption.already_redeemed"
    assert refused.message_in("en") == str(refused)
    chinese = refused.message_in("zh")
    assert "91330106MA27XXXX0L" in chinese
    assert "flat-500" in chinese
    assert "已兑付" in chinese
    assert "redeemed" not in chinese


def test_an_unknown_variant_is_a_bug_not_a_message() -> None:
    from payouts.errors import PayoutNotFound

    assert PayoutNotFound(code="payout.not_found.run", run_id=3).message_in("zh") == (
        "没有支付批次运行 3"
    )
    with pytest.raises(ValueError, match="no code"):
        PayoutNotFound(code="payout.no_such_code")


def test_states_and_terms_are_put_in_the_messages_language() -> None:
    from policies.service import PolicyStateError

    refused = PolicyStateError(policy_id="p", state="suspended", to="published")
    assert str(refused) == "policy p is suspended; it cannot become published"
    assert "suspended" not in refused.message_in("zh")
    assert i18n.state("zh", "policy", "suspended") in refused.message_in("zh")
    assert worded("zh", "policy.amount_type", {"found": Term("error_type.STRING")}, "") == (
        "的结果必须是数字，而不是文本"
    )


def test_text_given_by_a_library_is_kept_after_the_codes_words() -> None:
    from subsidy.errors import ConfigurationError

    broken = ConfigurationError("QINQING_SECRET: too short")
    assert str(broken) == "QINQING_SECRET: too short"
    assert broken.message_in("zh") == "设置无法使用：QINQING_SECRET: too short"


def _registry_problems(tmp_path: Path) -> Iterator[Problem]:
    for number, (column, value, _) in enumerate(BAD_ENTERPRISE_CELLS):
        rows = firms(5)
        rows[3] = rows[3] | {column: value}
        path = write_csv(tmp_path / f"firms-{number}.csv", rows)
        with pytest.raises(QinqingError) as refused:
            validate(read_source(path), ENTERPRISES, path.name)
        yield from refused.value.problems  # type: ignore[attr-defined]
    for number, (column, value, _) in enumerate(BAD_EMPLOYEE_CELLS):
        rows = [employee(i) for i in range(1, 6)]
        rows[1] = rows[1] | {column: value}
        path = write_csv(tmp_path / f"staff-{number}.csv", rows)
        known = read_source(write_csv(tmp_path / "known.csv", [{"uscc": make_uscc(1)}]))
        with pytest.raises(QinqingError) as refused:
            validate(read_source(path), EMPLOYEES, path.name, known_usccs=known["uscc"])
        yield from refused.value.problems  # type: ignore[attr-defined]


def test_every_registry_problem_has_its_code_and_chinese_words(tmp_path: Path) -> None:
    problems = list(_registry_problems(tmp_path))
    assert len(problems) == len(BAD_ENTERPRISE_CELLS) + len(BAD_EMPLOYEE_CELLS)
    for problem in problems:
        code, _ = problem_code(problem.message)
        assert code in PROBLEM_CODES, problem.message
        assert problem.message_in("en") == problem.message
        chinese = problem.shown("zh")
        assert f"第 {problem.row} 行" in chinese
        assert f"列 {problem.column}" in chinese
        # the English words around the values (never the values: a choice, a date) are gone
        code, fields = problem_code(problem.message)
        values = " ".join(str(v) for v in fields.values())
        typed = set(re.findall(r"[a-z]+", values)) | VALUES_A_USER_TYPES
        words = set(re.findall(r"[a-z]{3,}", problem.message)) - typed
        assert not words & set(re.findall(r"[a-z]{3,}", problem.message_in("zh"))), problem


RULES_REFUSED = [
    ("bank_account == '123'", "policy.personal_data", "个人信息 bank_account"),
    (
        "status in [" + ", ".join(f"'{i}'" for i in range(6_000)) + "]",
        "policy.list_too_long",
        "6,000",
    ),
    ("name =~ status", "policy.dynamic_pattern", "=~ 后面的正则表达式"),
    ("name =~ '(a+)+$'", "policy.regex_refused", "正则表达式"),
    ("status == 'active' and", "policy.syntax_ends_early", "规则提前结束"),
    ("name", "policy.eligibility_type", "资格条件中的结果必须是真或假，而不是文本"),
    ("employees.count", "policy.unknown_attribute", "资格条件中有未知的属性 'count'"),
]


@pytest.mark.parametrize(
    ("rule", "code", "chinese"), RULES_REFUSED, ids=[r[1] for r in RULES_REFUSED]
)
def test_what_a_rule_may_not_do_has_its_code_and_chinese_words(
    rule: str, code: str, chinese: str
) -> None:
    from policies import checking
    from policies.errors import PolicyDocumentError

    example = Path("policies/examples/hz-2020-ui-refund.yaml").read_text(encoding="utf-8")
    text = re.sub(r"eligibility: >-\n(  .*\n)+", f"eligibility: {json.dumps(rule)}\n", example)
    with pytest.raises(PolicyDocumentError) as refused:
        checking.load_and_check(text, "ui.yaml")
    issues = [i for i in refused.value.issues if i.field == "eligibility"]
    assert issues, refused.value
    shown = issues[0].shown("zh")
    assert issues[0].code == code, issues[0]
    assert chinese in shown, shown
    assert str(issues[0]).endswith(issues[0].message)  # the English as before
    assert issues[0].message_in("en") == issues[0].message


def test_schema_problems_read_in_chinese_with_their_place() -> None:
    from policies import checking
    from policies.errors import PolicyDocumentError

    example = Path("policies/examples/hz-2020-ui-refund.yaml").read_text(encoding="utf-8")
    broken = example.replace("cap: 3000000", "cap: abc").replace("valid_to:", "valid_tox:")
    with pytest.raises(PolicyDocumentError) as refused:
        checking.load_and_check(broken, "ui.yaml")
    codes = sorted(issue.code for issue in refused.value.issues)
    assert codes == [
        "policy.missing_field",
        "policy.schema.decimal_parsing",
        "policy.unknown_field_suggested",
    ]
    chinese = refused.value.message_in("zh")
    assert "字段 cap：应为数字" in chinese
    assert "未知的字段 'valid_tox'，是否想写 'valid_to'？" in chinese
    assert "Input should" not in chinese
    assert "cap: Input should be a valid decimal" in str(refused.value)  # English as before


def test_a_requested_action_is_named_in_the_messages_language() -> None:
    from policies.errors import SameOfficerError

    refused = SameOfficerError(
        by="officer:li", action="suspend", policy_id="p", request_id=3, requested_by="officer:li"
    )
    assert "requested suspend of policy p" in str(refused)
    assert "暂停申请" in refused.message_in("zh")
