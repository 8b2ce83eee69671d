"""Errors of the registry. Each message names the file involved and what to do about it."""

from __future__ import annotations


class RegistryError(Exception):
    """The registry cannot be read or written."""


class RegistryCorruptError(RegistryError):
    """The registry file is invalid or missing and no backup can replace it."""


class RegistryLockTimeout(RegistryError, TimeoutError):
    """Another process or thread held the registry lock for longer than the timeout."""
