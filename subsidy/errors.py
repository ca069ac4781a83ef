"""The errors Qinqing raises on purpose, drawn once so callers know what to catch.

    QinqingError                  anything the platform refuses, with a message fit for the user
    ├── ConfigurationError        settings that must not be used (a default secret in production)
    └── RegistryError             a registry import was refused; nothing was written
        ├── RegistryFileError     the file cannot be read at all (format, encoding, empty, missing)
        └── RegistryValidationError
                                  the file was read but its content breaks the registry contract;
                                  `.problems` lists every problem with file, row, column and value

The registry branch lives in `subsidy.registry.errors`; each domain adds its own branch under
QinqingError in its own `errors.py`.
"""

from __future__ import annotations


class QinqingError(Exception):
    """Base of every error the platform raises deliberately."""


class ConfigurationError(QinqingError):
    """The settings cannot be used as they are."""
