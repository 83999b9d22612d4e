"""`purchase-sync sandbox`: serve the Shanjing API emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from schemas.errors import UserError


def main(args: argparse.Namespace) -> int:
    from sandbox.options import config_from_args
    from sandbox.server import run_foreground

    try:
        config = config_from_args(args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise UserError(f"bad sandbox option: {problems}") from None
    try:
        return run_foreground(config, args.host, args.port)
    except OSError as exc:  # e.g. the port is taken
        raise UserError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
