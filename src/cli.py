"""Turn a config dataclass into argparse flags, and report user errors as one line.

Every field of a config dataclass becomes one flag (`hidden_size` -> `--hidden-size`) whose help
text and choices live next to the field, so the defaults exist in exactly one place.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from src.errors import UserError

T = TypeVar("T")


def _flag_type(annotation: Any) -> tuple[type, bool]:
    """Return (scalar type, is_optional) for `int`, `float | None`, ..."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        annotation = members[0]
    return annotation, optional


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one `--flag` per field of dataclass `cls`.

    Defaults are suppressed so that the parsed namespace holds only the flags the user actually
    typed; `config_from_args` fills the rest from the dataclass (or from a checkpoint on resume).
    """
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        kind, _ = _flag_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = f.metadata["help"]
        if kind is bool:
            parser.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=help_text)
            continue
        parser.add_argument(
            flag,
            type=kind,
            choices=f.metadata.get("choices"),
            default=argparse.SUPPRESS,
            metavar=f.metadata.get("metavar", kind.__name__.upper()),
            help=f"{help_text} (default: {default})",
        )


def given_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The flags the user typed, as a dict of field name -> value."""
    return dict(vars(args))


def run_main(main: Callable[[], int | None]) -> None:
    """Run a script's `main`, turning a `UserError` into one line on stderr and exit code 2."""
    try:
        code = main()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)
