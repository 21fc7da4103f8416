"""Shared CLI plumbing: argument errors become one line and exit code 2."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit itself
        raise UsageError(message)
