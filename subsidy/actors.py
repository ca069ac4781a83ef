"""Who acts, as the audit trail and maker-checker name them: `<role>:<subject>`.

`officer:li.wei`, `finance:wang.fang`, like the makers other code records (`enterprise:<uscc>`,
`system:automatic-grant`). Maker-checker compares the person, the part after the role: one
subject holding two roles is still one person, so whoever made a change never checks it under
another hat.

The system acts under the names in `SYSTEM_ACTORS`; each has its words in `terms.po`
(`actor.system.<name>`), and a test fails on a `system:` actor anywhere in the code that is not
listed here.
"""

from __future__ import annotations

AUTOMATIC_GRANT = "system:automatic-grant"
"""Grants an automatic policy's subsidy after a match (`subsidy.redemption.automatic`)."""
PAYOUTS = "system:payouts"
"""Gathers and settles payout batches (`payouts.service`)."""
DEMO = "system:demo"
"""Publishes the demo's policies and issues its sign-in links (`qinqing demo`)."""
AUDIT_MIGRATION = "system:migration-0013"
"""Sealed the audit chain when migration 0013 keyed it (`subsidy.audit.service`)."""

SYSTEM_ACTORS = (AUTOMATIC_GRANT, PAYOUTS, DEMO, AUDIT_MIGRATION)


def actor(role: str, subject: str) -> str:
    """How a person acting in a role is named in `changed_by` and in the audit trail. A caller
    with a Principal uses `Principal.actor` (`subsidy.auth`), which is this."""
    return f"{role}:{subject}"


def firm(uscc: str) -> str:
    """A firm acting for itself (a one-click redemption): `enterprise:<uscc>`."""
    return actor("enterprise", uscc)


def person(actor_name: str) -> str:
    """The person behind an actor: `officer:li.wei` and `finance:li.wei` are both `li.wei`."""
    role, colon, subject = actor_name.partition(":")
    return subject if colon else role
