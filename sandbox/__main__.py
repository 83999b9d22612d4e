"""`python -m sandbox`: what `start_subprocess` runs (also usable by hand)."""

from __future__ import annotations

import argparse
import sys

from sandbox.config import SandboxConfig
from sandbox.options import add_arguments, config_from_args
from sandbox.server import run_foreground


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8600)
    parser.add_argument(
        "--config-stdin",
        action="store_true",
        help="read the whole SandboxConfig as one JSON line from stdin (options are ignored)",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.config_stdin:
        config = SandboxConfig.model_validate_json(sys.stdin.readline())
    else:
        config = config_from_args(args)
    return run_foreground(config, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
