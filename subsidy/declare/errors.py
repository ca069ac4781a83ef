"""Why a declaration could not be stored although it is valid (see the hierarchy in
`subsidy.errors`; a declaration's own problems are `subsidy.registry.errors.DeclarationError`)."""

from __future__ import annotations

from subsidy.errors import QinqingError


class ConcurrentDeclaration(QinqingError):
    """Another declaration took this version number between reading the one in force and
    storing this one: declaring again checks against it."""

    code = "declaration.concurrent"
    status, slug, title = 409, "declaration-conflict", "Another declaration was made meanwhile"
