"""Errors a user can cause and fix: each message says where and what was expected."""

from __future__ import annotations


class ConfigError(ValueError):
    """The configuration is wrong; the message says where and what was expected."""
