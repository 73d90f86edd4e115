"""``gcx orgs``: list, search, get, create, update, patch, delete, lookup external organizations."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gcx.cli import crud, identity, updates
from gcx.cli.context import get_cli
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
    normalize_identifier_value,
    phone_object,
    read_documents,
)
from gcx.models.values import ORG_IDENTIFIER_TYPES

KIND = crud.ORGANIZATIONS

orgs_app = typer.Typer(
    name="orgs",
    help="External organizations: list, search, get, create, update, patch, delete, lookup.\n\n"
    "Example: gcx orgs list --limit 20",
    no_args_is_help=True,
)
identifiers_app = typer.Typer(
    name="identifiers",
    help="An organization's ExternalId identifiers: list, claim, release.\n\n"
    "Example: gcx orgs identifiers list ORG_ID",
    no_args_is_help=True,
)
orgs_app.add_typer(identifiers_app, name="identifiers")

OrgIdArg = Annotated[str, typer.Argument(help="Organization id.", metavar="ORG")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Company name (required to create).")]
CompanyTypeOpt = Annotated[str | None, typer.Option("--company-type", help="Company type, e.g. Customer.")]
IndustryOpt = Annotated[str | None, typer.Option("--industry", help="Industry.")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="Main phone number (+ and country code).")]
FaxOpt = Annotated[str | None, typer.Option("--fax", help="Fax number.")]
WebsiteOpt = Annotated[list[str] | None, typer.Option("--website", help="Website URL. Repeatable.")]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="Tag. Repeatable.")]
EmployeesOpt = Annotated[int | None, typer.Option("--employee-count", min=0, help="Number of employees.")]
RevenueOpt = Annotated[int | None, typer.Option("--revenue", min=0, help="Annual revenue.")]


def _fields(
    *,
    name: str | None,
    company_type: str | None,
    industry: str | None,
    phone: str | None,
    fax: str | None,
    website: list[str] | None,
    tag: list[str] | None,
    employee_count: int | None,
    revenue: int | None,
    address1: str | None,
    address2: str | None,
    city: str | None,
    state: str | None,
    postal_code: str | None,
    country_code: str | None,
    external_system_url: str | None,
    country: str | None,
    sets: list[str] | None,
) -> dict[str, Any]:
    return crud.option_changes(
        {
            "name": name,
            "companyType": company_type,
            "industry": industry,
            "phoneNumber": phone_object(phone, country) if phone else None,
            "faxNumber": phone_object(fax, country) if fax else None,
            "websites": list(website) if website else None,
            "tags": list(tag) if tag else None,
            "employeeCount": employee_count,
            "revenue": revenue,
            "address.address1": address1,
            "address.address2": address2,
            "address.city": city,
            "address.state": state,
            "address.postalCode": postal_code,
            "address.countryCode": country_code,
            "externalSystemUrl": external_system_url,
        },
        sets,
        kind="organization",
    )


@orgs_app.command("list")
def list_orgs(
    ctx: typer.Context, limit: LimitOpt = None, page_size: PageSizeOpt = 200, output: OutputOpt = None
) -> None:
    """List every organization (scan: no 1,000-record ceiling).

    Example: gcx -o jsonl orgs list > orgs.jsonl
    """
    crud.list_records(get_cli(ctx), KIND, limit=limit, page_size=page_size, output=output)


@orgs_app.command("search")
def search_orgs(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="Text to search for (name, ...).")] = None,
    limit: LimitOpt = None,
    output: OutputOpt = None,
) -> None:
    """Search organizations (the API serves at most 1,000 results; use list for everything).

    Example: gcx orgs search acme
    """
    crud.search_records(get_cli(ctx), KIND, query, limit=limit, output=output)


@orgs_app.command("get")
def get_orgs(
    ctx: typer.Context,
    org_ids: Annotated[list[str], typer.Argument(help="One or more organization ids.", metavar="ORG...")],
    output: OutputOpt = None,
) -> None:
    """Show organizations by id, with their identifiers (ExternalIds).

    Example: gcx -o json orgs get 7c2d...91
    """
    crud.get_records(get_cli(ctx), KIND, org_ids, output=output)


@orgs_app.command("create")
def create_org(
    ctx: typer.Context,
    name: NameOpt = None,
    company_type: CompanyTypeOpt = None,
    industry: IndustryOpt = None,
    phone: PhoneOpt = None,
    fax: FaxOpt = None,
    website: WebsiteOpt = None,
    tag: TagOpt = None,
    employee_count: EmployeesOpt = None,
    revenue: RevenueOpt = None,
    address1: Address1Opt = None,
    address2: Address2Opt = None,
    city: CityOpt = None,
    state: StateOpt = None,
    postal_code: PostalCodeOpt = None,
    country_code: CountryCodeOpt = None,
    external_system_url: ExternalUrlOpt = None,
    country: CountryOpt = None,
    set_: SetOpt = None,
    file: FileOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Create an organization from options, or many from a JSON/JSONL --file.

    Options given together with --file apply to every record of the file. Every record is
    checked first: one bad record and nothing is sent. Some records failing on the server
    ends with exit code 3.

    Example: gcx orgs create --name "Acme" --industry Retail --city Paris
    """
    cli = get_cli(ctx)
    overlay = _fields(
        name=name, company_type=company_type, industry=industry, phone=phone, fax=fax, website=website,
        tag=tag, employee_count=employee_count, revenue=revenue, address1=address1, address2=address2,
        city=city, state=state, postal_code=postal_code, country_code=country_code,
        external_system_url=external_system_url, country=country, sets=set_,
    )  # fmt: skip
    documents = read_documents(file) if file else None
    crud.create_records(cli, KIND, documents=documents, overlay=overlay, dry_run=dry_run, output=output)


@orgs_app.command("update")
def update_org(
    ctx: typer.Context,
    org_id: Annotated[
        str | None, typer.Argument(help="Organization id (or ids inside --file).", metavar="ORG")
    ] = None,
    name: NameOpt = None,
    company_type: CompanyTypeOpt = None,
    industry: IndustryOpt = None,
    phone: PhoneOpt = None,
    fax: FaxOpt = None,
    website: WebsiteOpt = None,
    tag: TagOpt = None,
    employee_count: EmployeesOpt = None,
    revenue: RevenueOpt = None,
    address1: Address1Opt = None,
    address2: Address2Opt = None,
    city: CityOpt = None,
    state: StateOpt = None,
    postal_code: PostalCodeOpt = None,
    country_code: CountryCodeOpt = None,
    external_system_url: ExternalUrlOpt = None,
    country: CountryOpt = None,
    set_: SetOpt = None,
    unset: UnsetOpt = None,
    file: FileOpt = None,
    replace: ReplaceOpt = False,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Change some fields of an organization, keeping every other field.

    Only the fields given change (safe update). --file takes partial records, each with its
    id. --replace instead makes the document the whole record (fields not given are erased)
    and asks for confirmation.

    Example: gcx orgs update 7c2d...91 --industry Banking --unset address.state
    """
    cli = get_cli(ctx)
    changes = _fields(
        name=name, company_type=company_type, industry=industry, phone=phone, fax=fax, website=website,
        tag=tag, employee_count=employee_count, revenue=revenue, address1=address1, address2=address2,
        city=city, state=state, postal_code=postal_code, country_code=country_code,
        external_system_url=external_system_url, country=country, sets=set_,
    )  # fmt: skip
    documents = read_documents(file) if file else None
    updates.run_update(
        cli,
        KIND,
        org_id,
        documents,
        changes,
        unset=unset,
        replace=replace,
        yes=yes,
        dry_run=dry_run,
        output=output,
    )


@orgs_app.command("patch")
def patch_org(
    ctx: typer.Context,
    org_id: OrgIdArg,
    set_: PatchSetOpt = None,
    set_if_empty: PatchSetIfEmptyOpt = None,
    append: PatchAppendOpt = None,
    remove: PatchRemoveOpt = None,
    file: FileOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Send raw PATCH changes (JSONPath fields, any action) to an organization.

    --file takes {"changes": [{"field": "$.industry", "value": "x", "action": "Update"}]}.

    Example: gcx orgs patch 7c2d...91 --set industry=Banking --append tags:='"vip"'
    """
    cli = get_cli(ctx)
    changes = updates.patch_changes(
        sets=set_, set_if_empty=set_if_empty, removes=remove, appends=append,
        documents=read_documents(file) if file else None,
    )  # fmt: skip
    updates.patch_record(cli, KIND, org_id, changes, dry_run=dry_run, output=output)


@orgs_app.command("delete")
def delete_org(
    ctx: typer.Context,
    org_id: OrgIdArg,
    with_contacts: Annotated[
        bool, typer.Option("--with-contacts", help="Also delete the organization's contacts (asks first).")
    ] = False,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Delete an organization. Refuses while contacts belong to it, unless --with-contacts.

    Asks for confirmation on a terminal; pass --yes in scripts. If some contacts cannot be
    deleted the organization is kept and the exit code is 3.

    Example: gcx orgs delete 7c2d...91 --with-contacts --yes
    """
    crud.delete_organization(get_cli(ctx), org_id, with_contacts=with_contacts, yes=yes, dry_run=dry_run)


@orgs_app.command("lookup")
def lookup_org(
    ctx: typer.Context,
    external_id: Annotated[str, typer.Option("--external-id", help="ExternalId identifier value.")],
    source: Annotated[
        str | None, typer.Option("--source", help="External source id of the identifier.")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Find the organization holding an ExternalId identifier (exit 1 when none does).

    Example: gcx orgs lookup --external-id crm-4711
    """
    identity.lookup_record(
        get_cli(ctx), KIND, "ExternalId", external_id.strip(), external_source=source, output=output
    )


@identifiers_app.command("list")
def list_identifiers(ctx: typer.Context, org_id: OrgIdArg, output: OutputOpt = None) -> None:
    """List the identifiers an organization holds.

    Example: gcx orgs identifiers list 7c2d...91
    """
    identity.list_identifiers(get_cli(ctx), KIND, org_id, output=output)


TypeOpt = Annotated[str, typer.Option("--type", help="Identifier type (organizations: ExternalId).")]
ValueOpt = Annotated[str, typer.Option("--value", help="Identifier value (at most 255 characters).")]
SourceOpt = Annotated[str | None, typer.Option("--source", help="External source id.")]


def _identifier(kind_name: str, value: str) -> tuple[str, str]:
    canonical = check_identifier_type(kind_name, ORG_IDENTIFIER_TYPES)
    return canonical, normalize_identifier_value(canonical, value, None)


@identifiers_app.command("claim")
def claim(
    ctx: typer.Context,
    org_id: OrgIdArg,
    value: ValueOpt,
    type_: TypeOpt = "ExternalId",
    source: SourceOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Make an organization hold an identifier.

    Example: gcx orgs identifiers claim 7c2d...91 --value crm-4711
    """
    kind_name, normalized = _identifier(type_, value)
    identity.change_identifier(
        get_cli(ctx), KIND, "Claim", org_id, kind_name, normalized, external_source=source, dry_run=dry_run,
        output=output,
    )  # fmt: skip


@identifiers_app.command("release")
def release(
    ctx: typer.Context,
    org_id: OrgIdArg,
    value: ValueOpt,
    type_: TypeOpt = "ExternalId",
    source: SourceOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Stop an organization holding an identifier.

    Example: gcx orgs identifiers release 7c2d...91 --value crm-4711
    """
    kind_name, normalized = _identifier(type_, value)
    identity.change_identifier(
        get_cli(ctx), KIND, "Release", org_id, kind_name, normalized, external_source=source, dry_run=dry_run,
        output=output,
    )  # fmt: skip


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root `gcx` app."""
    root.add_typer(orgs_app, name="orgs")
