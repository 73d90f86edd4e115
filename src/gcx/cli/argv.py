"""Global options anywhere on the line: ``gcx sync status -o json`` == ``gcx -o json sync status``.

click only parses a group's options before its subcommand. Users of ``gh``, ``aws`` and
``kubectl`` put ``-o json`` or ``-q`` at the end, so before click parses the line the root's
options found after the subcommand are moved in front of it. An option the subcommand itself
defines (``contacts list -o``, ``sync apply --query``) stays the subcommand's. ``--`` ends the
options: nothing after it moves.
"""

from __future__ import annotations

from collections.abc import Sequence

from typer._click.core import Command, Context
from typer.core import TyperGroup, TyperOption


def option_table(command: Command, ctx: Context) -> dict[str, bool]:
    """Every option spelling of ``command`` -> whether it takes a value."""
    table: dict[str, bool] = {}
    for param in command.get_params(ctx):
        if isinstance(param, TyperOption):
            takes_value = not param.is_flag and not param.count
            for spelling in (*param.opts, *param.secondary_opts):
                table[spelling] = takes_value
    return table


def _spelling(arg: str, table: dict[str, bool]) -> str | None:
    """The option ``arg`` spells in ``table`` (``--output=json`` -> ``--output``, ``-ojson`` -> ``-o``)."""
    if not arg.startswith("-") or arg == "-":
        return None
    if arg in table:
        return arg
    if arg.startswith("--"):
        name = arg.split("=", 1)[0]
        return name if name in table else None
    short = arg[:2]
    return short if table.get(short) else None  # a short option glued to its value


def hoist_global_options(root: TyperGroup, ctx: Context, args: Sequence[str]) -> list[str]:
    """``args`` with the root's options that follow the subcommand moved in front of it."""
    args = list(args)
    globals_ = option_table(root, ctx)
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        spelling = _spelling(args[i], globals_)
        i += 2 if spelling and globals_[spelling] and args[i] == spelling else 1
    head = args[:i]
    command: Command = root
    while i < len(args) and isinstance(command, TyperGroup):
        sub = command.get_command(ctx, args[i])
        if sub is None:
            return args  # an unknown command: click says so
        command = sub
        i += 1
    if isinstance(command, TyperGroup):
        return args
    path = args[len(head) : i]
    own = option_table(command, ctx)
    moved: list[str] = []
    kept: list[str] = []
    rest = args[i:]
    j = 0
    while j < len(rest):
        arg = rest[j]
        if arg == "--":
            kept.extend(rest[j:])
            break
        mine = _spelling(arg, own)
        theirs = None if mine else _spelling(arg, globals_)
        table, target = (own, kept) if mine or not theirs else (globals_, moved)
        spelling = mine or theirs
        target.append(arg)
        j += 1
        if spelling and table[spelling] and arg == spelling and j < len(rest):
            target.append(rest[j])  # the option's value
            j += 1
    return head + moved + path + kept
