"""``gcx contacts``: list, search, get, create, update, patch, delete, move, lookup, identifiers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gcx.cli import crud, identity, updates
from gcx.cli.columns import to_dict
from gcx.cli.context import UsageError, get_cli
from gcx.cli.options import (
    Address1Opt,
    Address2Opt,
    CityOpt,
    CountryCodeOpt,
    CountryOpt,
    DryRunOpt,
    ExternalUrlOpt,
    FileOpt,
    LimitOpt,
    OutputOpt,
    PageSizeOpt,
    PatchAppendOpt,
    PatchRemoveOpt,
    PatchSetIfEmptyOpt,
    PatchSetOpt,
    PostalCodeOpt,
    ReplaceOpt,
    SetOpt,
    StateOpt,
    UnsetOpt,
    YesOpt,
)
from gcx.cli.records import (
    check_identifier_type,
    normalize_email,
    normalize_identifier_value,
    normalize_phone,
    phone_object,
    read_documents,
)
from gcx.errors import ValidationError
from gcx.models.values import CONTACT_IDENTIFIER_TYPES

if TYPE_CHECKING:
    from gcx.client import AsyncClient

KIND = crud.CONTACTS

contacts_app = typer.Typer(
    name="contacts",
    help="External contacts: list, search, get, create, update, patch, delete, move, lookup, identifiers.\n\n"
    "Example: gcx contacts search ada",
    no_args_is_help=True,
)
identifiers_app = typer.Typer(
    name="identifiers",
    help="A contact's identifiers (Email, Phone, ExternalId, Cookie, social ids): list, claim, release.\n\n"
    "Example: gcx contacts identifiers claim CONTACT_ID --type Email --value ada@example.com",
    no_args_is_help=True,
)
contacts_app.add_typer(identifiers_app, name="identifiers")

ContactIdArg = Annotated[str, typer.Argument(help="Contact id.", metavar="CONTACT")]
FirstNameOpt = Annotated[str | None, typer.Option("--first-name", help="First name.")]
MiddleNameOpt = Annotated[str | None, typer.Option("--middle-name", help="Middle name.")]
LastNameOpt = Annotated[str | None, typer.Option("--last-name", help="Last name.")]
SalutationOpt = Annotated[str | None, typer.Option("--salutation", help="Salutation, e.g. Dr.")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Job title.")]
WorkEmailOpt = Annotated[str | None, typer.Option("--work-email", help="Work email address.")]
PersonalEmailOpt = Annotated[str | None, typer.Option("--personal-email", help="Personal email address.")]
OtherEmailOpt = Annotated[str | None, typer.Option("--other-email", help="Other email address.")]
WorkPhoneOpt = Annotated[
    str | None, typer.Option("--work-phone", help="Work phone (+ and country code, or --country).")
]
CellPhoneOpt = Annotated[str | None, typer.Option("--cell-phone", help="Mobile phone.")]
HomePhoneOpt = Annotated[str | None, typer.Option("--home-phone", help="Home phone.")]
OtherPhoneOpt = Annotated[str | None, typer.Option("--other-phone", help="Other phone.")]
OrgOpt = Annotated[
    str | None, typer.Option("--org", help="Id of the contact's external organization.", metavar="ORG")
]
SurveyOptOutOpt = Annotated[
    bool | None,
    typer.Option("--survey-opt-out/--no-survey-opt-out", help="Whether the contact opted out of surveys."),
]


def _fields(**values: Any) -> dict[str, Any]:
    country = values.pop("country")
    sets = values.pop("sets")

    def phone(value: str | None) -> dict[str, Any] | None:
        return phone_object(value, country) if value else None

    return crud.option_changes(
        {
            "firstName": values["first_name"],
            "middleName": values["middle_name"],
            "lastName": values["last_name"],
            "salutation": values["salutation"],
            "title": values["title"],
            "workEmail": values["work_email"],
            "personalEmail": values["personal_email"],
            "otherEmail": values["other_email"],
            "workPhone": phone(values["work_phone"]),
            "cellPhone": phone(values["cell_phone"]),
            "homePhone": phone(values["home_phone"]),
            "otherPhone": phone(values["other_phone"]),
            "address.address1": values["address1"],
            "address.address2": values["address2"],
            "address.city": values["city"],
            "address.state": values["state"],
            "address.postalCode": values["postal_code"],
            "address.countryCode": values["country_code"],
            "externalOrganization": {"id": values["org"].strip()} if values["org"] else None,
            "externalSystemUrl": values["external_system_url"],
            "surveyOptOut": values["survey_opt_out"],
        },
        sets,
        kind="contact",
    )


@contacts_app.command("list")
def list_contacts(
    ctx: typer.Context,
    org: Annotated[
        str | None, typer.Option("--org", help="Only the contacts of this organization.", metavar="ORG")
    ] = None,
    limit: LimitOpt = None,
    page_size: PageSizeOpt = 200,
    output: OutputOpt = None,
) -> None:
    """List every contact (scan: no 1,000-record ceiling), or those of one organization.

    Example: gcx -o csv contacts list > contacts.csv
    """
    crud.list_records(get_cli(ctx), KIND, limit=limit, page_size=page_size, output=output, org_id=org)


@contacts_app.command("search")
def search_contacts(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="Text to search for (name, email, phone...).")] = None,
    limit: LimitOpt = None,
    output: OutputOpt = None,
) -> None:
    """Search contacts (the API serves at most 1,000 results; use list for everything).

    Example: gcx contacts search lovelace --limit 10
    """
    crud.search_records(get_cli(ctx), KIND, query, limit=limit, output=output)


@contacts_app.command("get")
def get_contacts(
    ctx: typer.Context,
    contact_ids: Annotated[list[str], typer.Argument(help="One or more contact ids.", metavar="CONTACT...")],
    output: OutputOpt = None,
) -> None:
    """Show contacts by id, with their identifiers (emails, phones, ExternalIds...).

    Example: gcx -o json contacts get 3f1c...e2
    """
    crud.get_records(get_cli(ctx), KIND, contact_ids, output=output)


@contacts_app.command("create")
def create_contact(
    ctx: typer.Context,
    first_name: FirstNameOpt = None,
    middle_name: MiddleNameOpt = None,
    last_name: LastNameOpt = None,
    salutation: SalutationOpt = None,
    title: TitleOpt = None,
    work_email: WorkEmailOpt = None,
    personal_email: PersonalEmailOpt = None,
    other_email: OtherEmailOpt = None,
    work_phone: WorkPhoneOpt = None,
    cell_phone: CellPhoneOpt = None,
    home_phone: HomePhoneOpt = None,
    other_phone: OtherPhoneOpt = None,
    address1: Address1Opt = None,
    address2: Address2Opt = None,
    city: CityOpt = None,
    state: StateOpt = None,
    postal_code: PostalCodeOpt = None,
    country_code: CountryCodeOpt = None,
    org: OrgOpt = None,
    external_system_url: ExternalUrlOpt = None,
    survey_opt_out: SurveyOptOutOpt = None,
    country: CountryOpt = None,
    set_: SetOpt = None,
    file: FileOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Create a contact from options, or many from a JSON/JSONL --file.

    Options given together with --file apply to every record (e.g. --org). Every record is
    checked first (emails, URLs, lengths): one bad record and nothing is sent. Some records
    failing on the server ends with exit code 3.

    Example: gcx contacts create --first-name Ada --last-name Lovelace --work-email ada@example.com --org 7c2d...91
    """
    cli = get_cli(ctx)
    overlay = _fields(
        first_name=first_name, middle_name=middle_name, last_name=last_name, salutation=salutation, title=title,
        work_email=work_email, personal_email=personal_email, other_email=other_email, work_phone=work_phone,
        cell_phone=cell_phone, home_phone=home_phone, other_phone=other_phone, address1=address1,
        address2=address2, city=city, state=state, postal_code=postal_code, country_code=country_code, org=org,
        external_system_url=external_system_url, survey_opt_out=survey_opt_out, country=country, sets=set_,
    )  # fmt: skip
    documents = read_documents(file) if file else None
    crud.create_records(cli, KIND, documents=documents, overlay=overlay, dry_run=dry_run, output=output)


@contacts_app.command("update")
def update_contact(
    ctx: typer.Context,
    contact_id: Annotated[
        str | None, typer.Argument(help="Contact id (or ids inside --file).", metavar="CONTACT")
    ] = None,
    first_name: FirstNameOpt = None,
    middle_name: MiddleNameOpt = None,
    last_name: LastNameOpt = None,
    salutation: SalutationOpt = None,
    title: TitleOpt = None,
    work_email: WorkEmailOpt = None,
    personal_email: PersonalEmailOpt = None,
    other_email: OtherEmailOpt = None,
    work_phone: WorkPhoneOpt = None,
    cell_phone: CellPhoneOpt = None,
    home_phone: HomePhoneOpt = None,
    other_phone: OtherPhoneOpt = None,
    address1: Address1Opt = None,
    address2: Address2Opt = None,
    city: CityOpt = None,
    state: StateOpt = None,
    postal_code: PostalCodeOpt = None,
    country_code: CountryCodeOpt = None,
    org: OrgOpt = None,
    external_system_url: ExternalUrlOpt = None,
    survey_opt_out: SurveyOptOutOpt = None,
    country: CountryOpt = None,
    set_: SetOpt = None,
    unset: UnsetOpt = None,
    file: FileOpt = None,
    replace: ReplaceOpt = False,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Change some fields of a contact, keeping every other field.

    Only the fields given change (safe update). --file takes partial records, each with its
    id. --replace instead makes the document the whole record (fields not given are erased)
    and asks for confirmation.

    Example: gcx contacts update 3f1c...e2 --title CTO --city London --unset address.state
    """
    cli = get_cli(ctx)
    changes = _fields(
        first_name=first_name, middle_name=middle_name, last_name=last_name, salutation=salutation, title=title,
        work_email=work_email, personal_email=personal_email, other_email=other_email, work_phone=work_phone,
        cell_phone=cell_phone, home_phone=home_phone, other_phone=other_phone, address1=address1,
        address2=address2, city=city, state=state, postal_code=postal_code, country_code=country_code, org=org,
        external_system_url=external_system_url, survey_opt_out=survey_opt_out, country=country, sets=set_,
    )  # fmt: skip
    documents = read_documents(file) if file else None
    updates.run_update(
        cli,
        KIND,
        contact_id,
        documents,
        changes,
        unset=unset,
        replace=replace,
        yes=yes,
        dry_run=dry_run,
        output=output,
    )


@contacts_app.command("patch")
def patch_contact(
    ctx: typer.Context,
    contact_id: ContactIdArg,
    set_: PatchSetOpt = None,
    set_if_empty: PatchSetIfEmptyOpt = None,
    append: PatchAppendOpt = None,
    remove: PatchRemoveOpt = None,
    file: FileOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Send raw PATCH changes (JSONPath fields, any action) to a contact.

    --file takes {"changes": [{"field": "$.title", "value": "CTO", "action": "Update"}]}.

    Example: gcx contacts patch 3f1c...e2 --set title=CTO --set-if-empty address.city=Paris
    """
    cli = get_cli(ctx)
    changes = updates.patch_changes(
        sets=set_, set_if_empty=set_if_empty, removes=remove, appends=append,
        documents=read_documents(file) if file else None,
    )  # fmt: skip
    updates.patch_record(cli, KIND, contact_id, changes, dry_run=dry_run, output=output)


@contacts_app.command("delete")
def delete_contacts(
    ctx: typer.Context,
    contact_ids: Annotated[list[str], typer.Argument(help="One or more contact ids.", metavar="CONTACT...")],
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Delete contacts. Every id is checked first: an unknown id deletes nothing.

    Asks for confirmation on a terminal; pass --yes in scripts.

    Example: gcx contacts delete 3f1c...e2 --yes
    """
    crud.delete_records(get_cli(ctx), KIND, contact_ids, yes=yes, dry_run=dry_run)


@contacts_app.command("move")
def move_contact(
    ctx: typer.Context,
    contact_id: ContactIdArg,
    to: Annotated[
        str, typer.Option("--to", help="Id of the organization to move the contact to.", metavar="ORG")
    ],
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Move a contact to another organization, keeping its id and all its data.

    Example: gcx contacts move 3f1c...e2 --to 7c2d...91
    """
    cli = get_cli(ctx)
    out = cli.output_for(output)
    target = to.strip()
    if not target:
        raise ValidationError("--to: the organization id is empty", field="externalOrganization.id")

    async def go(gc: AsyncClient) -> None:
        contact = to_dict(await gc.contacts.get(contact_id))
        org = to_dict(await gc.organizations.get(target))
        current = contact.get("externalOrganization") or {}
        source = current.get("id") if isinstance(current, dict) else None
        if source == target:
            out.message(f"contact {contact_id} already belongs to organization {target} ({org.get('name')})")
            out.record(contact, KIND.output)
            return
        if dry_run:
            out.message(
                f"dry run: would move contact {contact_id} to organization {target}; nothing was sent"
            )
            out.data({"id": contact_id, "from": source, "to": target, "toName": org.get("name")})
            return
        moved = await gc.contacts.move(contact_id, target)
        out.message(
            f"moved contact {contact_id} from {source or 'no organization'} to {target} ({org.get('name')})"
        )
        out.record(moved, KIND.output)

    cli.run(go)


@contacts_app.command("lookup")
def lookup_contact(
    ctx: typer.Context,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="ExternalId identifier value.")
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            help="Email identifier (matches a contact that holds this Email identifier, not its "
            "workEmail field: use 'gcx contacts search EMAIL' to search the fields).",
        ),
    ] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="Phone identifier (+ and country code, or --country).")
    ] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Any identifier type (with --value).")] = None,
    value: Annotated[str | None, typer.Option("--value", help="Identifier value for --type.")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="External source id of the identifier.")
    ] = None,
    country: CountryOpt = None,
    output: OutputOpt = None,
) -> None:
    """Find the contact holding an identifier: ExternalId, email, phone or any --type.

    Lookup matches identifiers (claimed by a sync or with 'gcx contacts identifiers claim'),
    not the contact's fields: a contact whose workEmail is ada@example.com is found by
    'gcx contacts search ada@example.com', and by lookup only if it holds that Email identifier.
    Phone numbers are normalised to E.164 first. Exit code 1 when no contact holds it.

    Example: gcx contacts lookup --phone "+33 1 23 45 67 89"
    """
    given = [
        (n, v) for n, v in (("ExternalId", external_id), ("Email", email), ("Phone", phone)) if v is not None
    ]
    if type_ is not None or value is not None:
        if type_ is None or value is None:
            raise UsageError("--type and --value go together")
        given.append((check_identifier_type(type_, CONTACT_IDENTIFIER_TYPES), value))
    if len(given) != 1:
        raise UsageError("give exactly one of --external-id, --email, --phone or --type/--value")
    kind_name, raw = given[0]
    if kind_name == "Phone":
        normalized = normalize_phone(raw, country, field="--phone")
    elif kind_name == "Email":
        normalized = normalize_email(raw, field="--email")
    else:
        normalized = normalize_identifier_value(kind_name, raw, country)
    identity.lookup_record(get_cli(ctx), KIND, kind_name, normalized, external_source=source, output=output)


TypeOpt = Annotated[
    str, typer.Option("--type", help=f"Identifier type: {', '.join(CONTACT_IDENTIFIER_TYPES)}.")
]
ValueOpt = Annotated[str, typer.Option("--value", help="Identifier value (phones: + and country code).")]
SourceOpt = Annotated[
    str | None, typer.Option("--source", help="External source id (ExternalId identifiers).")
]


@identifiers_app.command("list")
def list_identifiers(ctx: typer.Context, contact_id: ContactIdArg, output: OutputOpt = None) -> None:
    """List the identifiers a contact holds.

    Example: gcx contacts identifiers list 3f1c...e2
    """
    identity.list_identifiers(get_cli(ctx), KIND, contact_id, output=output)


def _identifier(type_: str, value: str, country: str | None) -> tuple[str, str]:
    canonical = check_identifier_type(type_, CONTACT_IDENTIFIER_TYPES)
    return canonical, normalize_identifier_value(canonical, value, country)


@identifiers_app.command("claim")
def claim(
    ctx: typer.Context,
    contact_id: ContactIdArg,
    type_: TypeOpt,
    value: ValueOpt,
    source: SourceOpt = None,
    country: CountryOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Make a contact hold an identifier (e.g. so lookups find it).

    Example: gcx contacts identifiers claim 3f1c...e2 --type Phone --value "+33123456789"
    """
    kind_name, normalized = _identifier(type_, value, country)
    identity.change_identifier(
        get_cli(ctx), KIND, "Claim", contact_id, kind_name, normalized, external_source=source,
        dry_run=dry_run, output=output,
    )  # fmt: skip


@identifiers_app.command("release")
def release(
    ctx: typer.Context,
    contact_id: ContactIdArg,
    type_: TypeOpt,
    value: ValueOpt,
    source: SourceOpt = None,
    country: CountryOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Stop a contact holding an identifier.

    Example: gcx contacts identifiers release 3f1c...e2 --type Email --value ada@example.com
    """
    kind_name, normalized = _identifier(type_, value, country)
    identity.change_identifier(
        get_cli(ctx), KIND, "Release", contact_id, kind_name, normalized, external_source=source,
        dry_run=dry_run, output=output,
    )  # fmt: skip


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root `gcx` app."""
    root.add_typer(contacts_app, name="contacts")
