"""Option types shared by the record commands (one definition, the same help everywhere)."""

from __future__ import annotations

from typing import Annotated

import typer

from gcx.cli.output import OutputFormat

OutputOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        help="Output format for this command (overrides the global --output).",
        case_sensitive=False,
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print what would be sent; change nothing.")]
FileOpt = Annotated[
    str | None,
    typer.Option(
        "--file",
        "-f",
        help="JSON object, JSON array or JSON Lines file with API field names ('-' for stdin).",
        metavar="PATH",
    ),
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="Print at most this many records.", metavar="N")
]
PageSizeOpt = Annotated[
    int, typer.Option("--page-size", min=10, max=200, help="Records per scan page (10-200).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Set any field: PATH=TEXT or PATH:=JSON (e.g. address.city=Paris, tags:='[\"vip\"]'). Repeatable.",
        metavar="PATH=VALUE",
    ),
]
PatchSetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Update: PATH=TEXT or PATH:=JSON. Repeatable.")
]
PatchSetIfEmptyOpt = Annotated[
    list[str] | None, typer.Option("--set-if-empty", help="UpdateIfEmpty: PATH=VALUE. Repeatable.")
]
PatchAppendOpt = Annotated[
    list[str] | None, typer.Option("--append", help="AppendToCollection: PATH:=JSON. Repeatable.")
]
PatchRemoveOpt = Annotated[list[str] | None, typer.Option("--remove", help="Remove: PATH. Repeatable.")]
UnsetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--unset", help="Remove a field (dot path, e.g. address.state). Repeatable.", metavar="PATH"
    ),
]
ReplaceOpt = Annotated[
    bool,
    typer.Option(
        "--replace",
        help="Replace the whole record (PUT) with the given document: every field not given is erased.",
    ),
]
CountryOpt = Annotated[
    str | None,
    typer.Option(
        "--country",
        help="Default country (ISO code, e.g. FR) for phone numbers without a + prefix.",
        metavar="CC",
    ),
]

# Address fields shared by contacts and organizations.
Address1Opt = Annotated[str | None, typer.Option("--address1", help="Street address, line 1.")]
Address2Opt = Annotated[str | None, typer.Option("--address2", help="Street address, line 2.")]
CityOpt = Annotated[str | None, typer.Option("--city", help="City.")]
StateOpt = Annotated[str | None, typer.Option("--state", help="State or region.")]
PostalCodeOpt = Annotated[str | None, typer.Option("--postal-code", help="Postal code.")]
CountryCodeOpt = Annotated[str | None, typer.Option("--country-code", help="Address country code, e.g. FR.")]
ExternalUrlOpt = Annotated[
    str | None, typer.Option("--external-system-url", help="http(s) link to the record in your system.")
]
