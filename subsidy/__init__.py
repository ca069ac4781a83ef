"""Qinqing application shell and shared core: settings, database, registry, CLI."""
