"""CLI commands for the events feature."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `cppcc-bot` parser."""
