"""Properties of the backtracking check: it never refuses a pattern built from realistic safe
templates, and always refuses a generated pattern with a quantifier nested in a quantifier."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from policies.regexes import problem

_WORDS = ["科技", "技术", "网络", "软件", "有限公司", "杭州", "tech", "Tech", "贸易", "C27", "I65"]
_CLASSES = ["[0-9]", "[A-Z]", "[a-z]", r"\d", "[0-9A-Z]", "[^0-9]", "."]
_ATOMS = ["a", "b", "x", "科", ".", r"\w", r"\d", r"\s", "[ab]", "[0-9]", "(?:ab)", "(?:a|b)"]
_UNBOUNDED = ["*", "+", "{1,}", "{2,}"]
_OUTER = ["*", "+", "{2,}", "{2,9}", "{3}"]


@st.composite
def safe_patterns(draw: st.DrawFn) -> str:
    """What policies write: anchored codes with counted classes, alternations of distinct words,
    a word anywhere between `.*`s, optional suffixes, a case flag."""
    code = draw(st.sampled_from(["91330", "C", "I6", "F5", ""]))
    counted = draw(st.sampled_from(_CLASSES[:5])) + "{" + str(draw(st.integers(1, 18))) + "}"
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4, unique=True))
    shape = draw(st.integers(0, 5))
    if shape == 0:
        body = f"^{code}{counted}" + draw(st.sampled_from(["$", ""]))
    elif shape == 1:
        body = "|".join(words)
    elif shape == 2:
        body = f".*{words[0]}.*"
    elif shape == 3:
        body = f"^({'|'.join(c for c in ['C', 'I', 'F', 'G'][: len(words)])})" + code
    elif shape == 4:
        body = f"{words[0]}({words[-1]})?" + draw(st.sampled_from(["$", ""]))
    else:
        low = draw(st.integers(1, 5))
        body = f"^{code}[0-9]{{{low},{low + draw(st.integers(0, 9))}}}$"
    return draw(st.sampled_from(["", "(?i)"])) + body


@st.composite
def nested_patterns(draw: st.DrawFn) -> str:
    """A group holding an unbounded quantifier, itself repeated more than once."""
    inner = draw(st.sampled_from(_ATOMS)) + draw(st.sampled_from(_UNBOUNDED))
    before = draw(st.sampled_from(["", "a", "科", "[0-9]"]))
    after = draw(st.sampled_from(["", "b", r"\s?", "x*"]))
    group = draw(st.sampled_from(["(", "(?:"])) + before + inner + after + ")"
    tail = draw(st.sampled_from(["", "$", "Q", "!"]))
    return draw(st.sampled_from(["", "^"])) + group + draw(st.sampled_from(_OUTER)) + tail


@given(safe_patterns())
def test_a_realistic_pattern_is_never_refused(pattern: str) -> None:
    assert problem(pattern) is None, pattern


@given(nested_patterns())
def test_a_nested_quantifier_is_always_refused(pattern: str) -> None:
    found = problem(pattern)
    assert found is not None, pattern
    assert "repetition inside a repetition" in found
