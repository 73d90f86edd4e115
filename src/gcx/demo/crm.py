"""A realistic CRM extract for ``gcx sync`` and ``gcx demo`` (deterministic).

Each row is a contact with its account (organization) columns, as most CRMs export them.
About 3,000 contacts in 40 accounts across 7 countries, with a few percent of dirty rows of
each kind the sync must report (and skip) while syncing the rest:

* invalid email, phone that cannot be read, over-long field (state > 50 characters);
* missing organization reference (an account id described nowhere);
* duplicate contact ExternalId; malformed row (wrong column count); a line in Latin-1
  (wrong encoding) in a UTF-8 file.

``examples/make_crm_extract.py`` writes ``examples/crm_contacts.csv`` with it (same seed,
same bytes); ``gcx demo`` generates its copy in its work directory.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

HEADER = [
    "contact_id",
    "first_name",
    "last_name",
    "title",
    "email",
    "mobile",
    "work_phone",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "account_id",
    "account_name",
    "industry",
    "account_website",
    "account_phone",
    "opt_out",
]

FIRST = {
    "US": ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Susan"],
    "CA": ["Liam", "Olivia", "Noah", "Emma", "Benjamin", "Charlotte", "Lucas", "Amelia", "Ethan", "Chloé"],
    "GB": ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Charlie", "Grace"],
    "FR": ["Gabriel", "Louise", "Léo", "Jade", "Raphaël", "Ambre", "Arthur", "Léa", "Hugo", "Manon"],
    "DE": ["Lukas", "Mia", "Leon", "Emma", "Finn", "Hannah", "Jonas", "Sofia", "Elias", "Lena"],
    "AU": ["Jack", "Charlotte", "William", "Olivia", "Thomas", "Ava", "Henry", "Isla", "Lachlan", "Matilda"],
    "JP": ["Haruto", "Yui", "Sota", "Hina", "Yuto", "Aoi", "Riku", "Mei", "Hayato", "Sakura"],
}
LAST = {
    "US": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Moore"],
    "CA": ["Tremblay", "Martin", "Roy", "Wilson", "MacDonald", "Gagnon", "Taylor", "Côté", "Campbell", "Lee"],
    "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker"],
    "FR": [
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
    ],
    "DE": [
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Hoffmann",
        "Koch",
    ],
    "AU": [
        "Smith",
        "Jones",
        "Williams",
        "Brown",
        "Wilson",
        "Taylor",
        "Johnson",
        "White",
        "Martin",
        "Anderson",
    ],
    "JP": [
        "Sato",
        "Suzuki",
        "Takahashi",
        "Tanaka",
        "Watanabe",
        "Ito",
        "Yamamoto",
        "Nakamura",
        "Kobayashi",
        "Kato",
    ],
}
CITIES = {
    "US": [("New York", "NY", "100{:02d}"), ("Chicago", "IL", "606{:02d}"), ("Austin", "TX", "787{:02d}")],
    "CA": [("Toronto", "ON", "M5V {}A1"), ("Montréal", "QC", "H2X {}B2"), ("Vancouver", "BC", "V6B {}C3")],
    "GB": [("London", "", "EC1A {}BB"), ("Manchester", "", "M1 {}AE"), ("Leeds", "", "LS1 {}BA")],
    "FR": [("Paris", "", "750{:02d}"), ("Lyon", "", "690{:02d}"), ("Nantes", "", "440{:02d}")],
    "DE": [("Berlin", "", "101{:02d}"), ("München", "", "803{:02d}"), ("Hamburg", "", "201{:02d}")],
    "AU": [("Sydney", "NSW", "20{:02d}"), ("Melbourne", "VIC", "30{:02d}"), ("Brisbane", "QLD", "40{:02d}")],
    "JP": [("Tokyo", "", "100-00{:02d}"), ("Osaka", "", "530-00{:02d}"), ("Kyoto", "", "600-80{:02d}")],
}
STREETS = {
    "US": "{n} Main Street",
    "CA": "{n} King Street West",
    "GB": "{n} High Street",
    "FR": "{n} rue de la République",
    "DE": "Hauptstraße {n}",
    "AU": "{n} George Street",
    "JP": "{n}-1 Marunouchi",
}


def phone(country: str, rng: random.Random, mobile: bool) -> str:
    """Fictional but well-formed numbers, written the way each country's people write them."""
    n = rng.randrange(100, 1000)
    if country == "US":
        return f"(212) 555-0{n}" if not mobile else f"212-555-0{n}"
    if country == "CA":
        return f"(416) 555-0{n}"
    if country == "GB":
        return f"020 7946 0{n}" if not mobile else f"07700 900{n}"
    if country == "FR":
        return (
            f"01 99 00 {n // 10:02d} {n % 100:02d}" if not mobile else f"06 39 98 {n // 10:02d} {n % 100:02d}"
        )
    if country == "DE":
        return f"030 23125 {n}" if not mobile else f"+49 1522 343{n}"
    if country == "AU":
        return f"(02) 5550 1{n}" if not mobile else f"0491 570 {n}"
    return f"03-5555-0{n}"


CALLING_CODES = {"US": "1", "CA": "1", "GB": "44", "FR": "33", "DE": "49", "AU": "61", "JP": "81"}


def international(country: str, national: str) -> str:
    """A national number written with its +code (an account may be called from anywhere)."""
    digits = national.lstrip("(0").replace("(", "").replace(")", "")
    if country in ("US", "CA"):
        digits = national.replace("(", "").replace(")", "")
    return f"+{CALLING_CODES[country]} {digits}"


COMPANY_WORDS = [
    ("Northwind", "Traders"), ("Contoso", "Pharmaceuticals"), ("Fabrikam", "Industries"),
    ("Tailspin", "Toys"), ("Wingtip", "Airlines"), ("Adventure", "Works"), ("Blue Yonder", "Airlines"),
    ("Coho", "Winery"), ("Litware", "Software"), ("Lucerne", "Publishing"), ("Margie's", "Travel"),
    ("Proseware", "Systems"), ("Southridge", "Video"), ("Trey", "Research"), ("Woodgrove", "Bank"),
    ("Alpine", "Ski House"), ("Bellows", "College"), ("Datum", "Corporation"), ("Fourth", "Coffee"),
    ("Graphic", "Design Institute"),
]  # fmt: skip
INDUSTRIES = [
    "Retail",
    "Pharmaceuticals",
    "Manufacturing",
    "Travel",
    "Software",
    "Banking",
    "Education",
    "Food",
]
TITLES = [
    "Account Manager",
    "CTO",
    "Head of Support",
    "Buyer",
    "Operations Lead",
    "CFO",
    "Engineer",
    "Director",
]


def accounts(n: int, rng: random.Random) -> list[dict[str, str]]:
    out = []
    countries = list(FIRST)
    for i in range(n):
        a, b = COMPANY_WORDS[i % len(COMPANY_WORDS)]
        country = countries[i % len(countries)]
        name = f"{a} {b}" + ("" if i < len(COMPANY_WORDS) else f" {country}")
        domain = (a + b).lower().replace("'", "").replace(" ", "") + (
            "" if i < len(COMPANY_WORDS) else f"-{country.lower()}"
        )
        out.append(
            {
                "account_id": f"ACC-{1000 + i}",
                "account_name": name,
                "industry": rng.choice(INDUSTRIES),
                "account_website": f"https://www.{domain}.example",
                "account_phone": international(country, phone(country, rng, mobile=False)),
                "country": country,
                "domain": f"{domain}.example",
            }
        )
    return out


def rows(n_contacts: int, n_accounts: int, *, seed: int = 42, clean: bool = False) -> list[list[str] | bytes]:
    """The CSV rows (a list of cells, or raw bytes for the deliberately mis-encoded line)."""
    rng = random.Random(seed)
    accts = accounts(n_accounts, rng)
    described: set[str] = set()
    out: list[list[str] | bytes] = []
    for i in range(n_contacts):
        acct = accts[rng.randrange(n_accounts)]
        country = acct["country"] if rng.random() < 0.8 else rng.choice(list(FIRST))
        first = rng.choice(FIRST[country])
        last = rng.choice(LAST[country])
        city, state, postal = rng.choice(CITIES[country])
        email_local = (
            f"{first}.{last}".lower().replace("é", "e").replace("ü", "ue").replace("ô", "o").replace("ë", "e")
        )
        row = {
            "contact_id": f"CRM-{100000 + i}",
            "first_name": first,
            "last_name": last,
            "title": rng.choice(TITLES),
            "email": f"{email_local}{i}@{acct['domain']}" if rng.random() < 0.97 else "",
            "mobile": phone(country, rng, mobile=True) if rng.random() < 0.9 else "",
            "work_phone": phone(country, rng, mobile=False) if rng.random() < 0.5 else "",
            "street": STREETS[country].format(n=rng.randrange(1, 300)),
            "city": city,
            "state": state,
            "postal_code": postal.format(rng.randrange(1, 99)),
            "country": country,
            "account_id": acct["account_id"],
            "account_name": "",
            "industry": "",
            "account_website": "",
            "account_phone": "",
            "opt_out": "yes" if rng.random() < 0.05 else "no",
        }
        # the account's details on its first row only (later rows reference it by id)
        describing = acct["account_id"] not in described
        if describing:
            described.add(acct["account_id"])
            row.update({k: acct[k] for k in ("account_name", "industry", "account_website", "account_phone")})
        if rng.random() < 0.1:
            row["first_name"] = f"  {row['first_name']} "  # stray spaces: trimmed by the mapping
            row["email"] = row["email"].upper()  # lower-cased by the mapping
        cells = [row[h] for h in HEADER]
        if not clean and not describing:  # an account's describing row stays clean
            dirty = rng.random()
            if dirty < 0.012:
                cells[HEADER.index("email")] = row["email"].replace("@", " at ") or "not-an-email"
            elif dirty < 0.024:
                cells[HEADER.index("mobile")] = "call reception"
            elif dirty < 0.032:
                cells[HEADER.index("state")] = "State of " + "very " * 12 + "long name"
            elif dirty < 0.040:
                cells[HEADER.index("account_id")] = f"ACC-{9000 + i % 7}"  # an account described nowhere
            elif dirty < 0.046:
                cells = cells[:9]  # truncated export line
            elif dirty < 0.052 and i > 10:
                cells[0] = f"CRM-{100000 + i - 7}"  # duplicate ExternalId
            elif dirty < 0.056:
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\n").writerow(cells)
                out.append(buf.getvalue().replace(first, first + "é").encode("latin-1", errors="replace"))
                continue
        out.append(cells)
    return out


def write(path: Path, n_contacts: int, n_accounts: int, *, seed: int = 42, clean: bool = False) -> Path:
    buf = io.BytesIO()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    buf.write(text.getvalue().encode("utf-8"))
    for row in rows(n_contacts, n_accounts, seed=seed, clean=clean):
        if isinstance(row, bytes):
            buf.write(row)
            continue
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow(row)
        buf.write(text.getvalue().encode("utf-8"))
    path.write_bytes(buf.getvalue())
    return path


def changed_copy(src: Path, dst: Path, *, retitle: int, move: int, add: int) -> dict[str, list[str]]:
    """Copy an extract with some changes, as a CRM would export it a day later.

    ``retitle`` contacts get a new title, ``move`` contacts change account, ``add`` new
    contacts appear. Rows that cannot be read are copied unchanged. Returns the ExternalIds
    touched per kind of change.
    """
    lines = src.read_bytes().splitlines(keepends=True)
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    col = {name: i for i, name in enumerate(header)}
    accounts: list[str] = []
    out: list[bytes] = [lines[0]]
    touched: dict[str, list[str]] = {"retitled": [], "moved": [], "added": []}
    for raw in lines[1:]:
        try:
            cells = next(csv.reader([raw.decode("utf-8")]))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            out.append(raw)
            continue
        if len(cells) != len(header):
            out.append(raw)
            continue
        account = cells[col["account_id"]]
        if cells[col["account_name"]] and account not in accounts:
            accounts.append(account)
        key = cells[col["contact_id"]]
        if len(touched["retitled"]) < retitle and cells[col["title"]] != "Chief Customer Officer":
            cells[col["title"]] = "Chief Customer Officer"
            touched["retitled"].append(key)
        elif len(touched["moved"]) < move and len(accounts) > 1 and not cells[col["account_name"]]:
            cells[col["account_id"]] = accounts[0] if account != accounts[0] else accounts[1]
            for name in ("account_name", "industry", "account_website", "account_phone"):
                cells[col[name]] = ""
            touched["moved"].append(key)
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow(cells)
        out.append(text.getvalue().encode("utf-8"))
    for n in range(add):
        key = f"CRM-NEW-{n + 1:03d}"
        row = dict.fromkeys(header, "")
        row.update(
            {
                "contact_id": key,
                "first_name": "New",
                "last_name": f"Customer {n + 1}",
                "email": f"new.customer{n + 1}@example.com",
                "mobile": f"+1 212 555 01{n:02d}",
                "country": "US",
                "account_id": accounts[n % len(accounts)] if accounts else "",
                "opt_out": "no",
            }
        )
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow([row[h] for h in header])
        out.append(text.getvalue().encode("utf-8"))
        touched["added"].append(key)
    dst.write_bytes(b"".join(out))
    return touched
