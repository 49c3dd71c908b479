"""Placeholder until the action stage lands."""
import argparse

from cascade.errors import CascadeError

HELP = "not yet built"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> None:
    raise CascadeError("not yet built")
