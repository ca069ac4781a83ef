"""The errors the matching domain raises on purpose.

QinqingError
└── MatchingError             matching refused to run a policy
    └── UnsupportedRule       a rule uses a construct the compiler cannot reproduce exactly;
                              raised at compile time, never as a silent per-firm fallback
"""

from __future__ import annotations

from subsidy.errors import QinqingError


class MatchingError(QinqingError):
    """Matching refused to run a policy."""

    code = "matching.refused"
    status, slug, title = 422, "rule-refused", "The rule cannot be run"


class InvalidRule(MatchingError):
    """rule-engine refuses the rule text in the policy's typed context."""

    code = "matching.invalid_rule"


class UnsupportedRule(MatchingError):
    """The compiler cannot reproduce a rule construct exactly; the message names the construct."""

    code = "matching.unsupported"
