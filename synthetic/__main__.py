"""`python -m synthetic samples | tests | export MARKETPLACE ROWS PATH [--seed N]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from synthetic import MARKETPLACES, write_export


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m synthetic", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("samples", help="regenerate data/samples/")
    sub.add_parser("tests", help="regenerate tests/data/")
    export = sub.add_parser("export", help="one export of ROWS rows and its SKU map")
    export.add_argument("marketplace", choices=MARKETPLACES)
    export.add_argument("rows", type=int)
    export.add_argument("path", type=Path)
    export.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.what == "samples":
        from synthetic import samples

        print("\n".join(samples.build()))
    elif args.what == "tests":
        from synthetic import cases

        print("\n".join(str(p) for p in cases.build()))
    else:
        print(*write_export(args.marketplace, args.rows, args.path, seed=args.seed), sep="\n")


if __name__ == "__main__":
    main()
