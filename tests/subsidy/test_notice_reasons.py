"""A notice of a policy that labels its clauses says, in plain words, the conditions the firm
met (all of them: it qualified); one without labels reads as before."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from policies.document import ClauseLabel, load_path
from subsidy.notifications import service
from subsidy.notifications.models import Kind, Notification

UI = Path(__file__).parents[2] / "policies" / "examples" / "hz-2020-ui-refund.yaml"


def _notice() -> Notification:
    return Notification(
        id=7, uscc="91330100000000000X", policy_id="p", kind=Kind.QUALIFIED, amount=Decimal(100)
    )


def test_the_notice_names_the_conditions_met() -> None:
    labels = load_path(UI).clauses
    assert labels is not None
    said = service.message(_notice(), "稳岗返还", "automatic", "Job retention refund", labels)
    assert said.text_zh.endswith(
        "符合的条件：企业处于存续状态；企业未被列入失信名单；纳税信用等级不是D级；上年缴纳了失业保险费。"
    )
    assert "Conditions met: The firm is active; The firm is not on the list" in said.text_en
    assert said.text_en.endswith("paid unemployment-insurance premium last year.")


def test_without_labels_the_notice_is_as_before() -> None:
    plain = service.message(_notice(), "稳岗返还", "one-click", "Job retention refund")
    assert "符合的条件" not in plain.text_zh
    assert plain.text_zh.endswith("点击「一键兑付」领取。")
    one = (ClauseLabel(zh="企业处于存续状态", en="The firm is active"),)
    labelled = service.message(_notice(), "稳岗返还", "one-click", "Job retention refund", one)
    assert labelled.text_zh == plain.text_zh + "符合的条件：企业处于存续状态。"
    assert labelled.text_en == plain.text_en + " Conditions met: The firm is active."
