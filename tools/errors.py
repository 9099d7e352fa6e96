"""Kept for tools/compare.py and tools/noise.py until they import tools.cli (the one home of
these names); nothing else imports this module."""

from .cli import ToolError, main_guard  # noqa: F401
