"""Errors of the deploy layer."""

from __future__ import annotations

__all__ = ["ConfigError", "DeployError", "LaunchError"]


class DeployError(Exception):
    """Base class for errors raised while configuring, starting or driving a stack."""


class ConfigError(DeployError):
    """A configuration file or value is wrong; the message names the key and the file."""


class LaunchError(DeployError):
    """A component did not start or did not become ready in time."""
