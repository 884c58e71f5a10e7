"""One helper for the command groups packages register (`creditwh quality …`, `creditwh repair …`, …)."""
from __future__ import annotations

import argparse


def command_group(add, name: str, help_text: str):
    """Register `creditwh NAME SUBCOMMAND …` and return `subcommand(name, func, help_text)`, which adds one
    sub-command taking `--home` and `--json`.

    The group's own --home is parsed before the sub-command's; the sub-command accepts it too (after its name)
    with SUPPRESS as default, so an absent one never overwrites `creditwh NAME --home DIR …`.
    """
    group = add(name, None, help_text)
    sub = group.add_subparsers(dest=f"{name.replace('-', '_')}_command", required=True, metavar="SUBCOMMAND")

    def subcommand(sub_name: str, func, sub_help: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(sub_name, help=sub_help, description=sub_help)
        parser.add_argument("--home", default=argparse.SUPPRESS,
                            help="installation directory (default: $CREDITWH_HOME or ./.creditwh)")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.set_defaults(func=func)
        return parser

    return subcommand
