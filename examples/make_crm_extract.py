"""Write ``examples/crm_contacts.csv``: a realistic CRM extract for ``gcx sync`` (deterministic).

About 3,000 contacts in 40 accounts across 7 countries, with a few percent of dirty rows of
each kind gcx reports (and skips) while syncing the rest: invalid email, unreadable phone,
over-long field, missing organization reference, duplicate ExternalId, malformed row, a line
in the wrong encoding. The generator lives in ``gcx.demo.crm`` (``gcx demo`` uses it too).

    python examples/make_crm_extract.py [--contacts 3000] [--accounts 40] [--seed 42] [--clean]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gcx.demo.crm import write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--clean", action="store_true", help="no dirty rows")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("crm_contacts.csv"))
    args = parser.parse_args()
    path = write(args.out, args.contacts, args.accounts, seed=args.seed, clean=args.clean)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
