"""Who acts, as the audit trail and maker-checker name them: `<role>:<subject>`.

`officer:li.wei`, `finance:wang.fang`, like the makers other code records (`enterprise:<uscc>`,
`system:automatic-grant`). Maker-checker compares the person, the part after the role: one
subject holding two roles is still one person, so whoever made a change never checks it under
another hat.
"""

from __future__ import annotations


def actor(role: str, subject: str) -> str:
    """How an officer or finance user is named in `changed_by` and in the audit trail."""
    return f"{role}:{subject}"


def person(actor_name: str) -> str:
    """The person behind an actor: `officer:li.wei` and `finance:li.wei` are both `li.wei`."""
    role, colon, subject = actor_name.partition(":")
    return subject if colon else role
