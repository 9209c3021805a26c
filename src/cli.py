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
from typing import Any

from src.errors import UserError
from src.train.distributed import exit_process


def _flag_type(annotation: Any) -> tuple[type, bool]:
    """The scalar type a flag parses to, and whether it takes one or more values.

    `int` -> (int, False); `float | None` -> (float, False); `tuple[int, ...]` -> (int, True).
    """
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is tuple:
        return typing.get_args(annotation)[0], True
    return annotation, False


class _StoreTuple(argparse.Action):
    """Store a flag's several values as a tuple, the type of its field (argparse would store a list)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, tuple(values))


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one `--flag` per field of dataclass `cls`.

    Defaults are suppressed so that the parsed namespace holds only the flags the user actually
    typed; the dataclass fills in the rest (or, on resume, the checkpoint's config).
    """
    hints = typing.get_type_hints(cls)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in dataclasses.fields(cls):
        group_name = f.metadata.get("group")
        if group_name is not None and group_name not in groups:
            groups[group_name] = parser.add_argument_group(group_name)
        target: argparse._ActionsContainer = groups[group_name] if group_name is not None else parser
        flag = "--" + f.name.replace("_", "-")
        kind, many = _flag_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else None
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        help_text = f.metadata["help"]
        if kind is bool:
            target.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=help_text)
            continue
        choices = f.metadata.get("choices")
        target.add_argument(
            flag,
            type=kind,
            nargs="+" if many else None,  # a tuple field takes one or more values: --sizes 256 512
            action=_StoreTuple if many else "store",
            choices=choices,
            default=argparse.SUPPRESS,
            metavar=f.metadata.get("metavar") or ("{" + ",".join(choices) + "}" if choices else kind.__name__.upper()),
            help=help_text if default is None else f"{help_text} (default: {shown})",
        )


def run_main(main: Callable[[], int | None]) -> None:
    """Run a script's `main`, turning a `UserError` into one line on stderr and exit code 2.

    The exit goes through `exit_process`, which ends a torchrun rank without the interpreter's
    shutdown (see there for why).
    """
    try:
        code = main()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    exit_process(code or 0)
