"""Pure input handling: documents, change sets, local validation, identifiers, update plans."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from gcx.cli.context import CliError
from gcx.cli.crud import CONTACTS, ORGANIZATIONS, option_changes
from gcx.cli.records import (
    Document,
    build_record,
    check_identifier_type,
    flatten_changes,
    normalize_email,
    normalize_identifier_value,
    normalize_phone,
    parse_assignments,
    parse_documents,
    read_documents,
    strip_server_fields,
    validate_changes,
    validate_new_record,
)
from gcx.cli.updates import patch_changes, plan_updates
from gcx.errors import ValidationError
from gcx.merge import deep_merge

# --------------------------------------------------------------------------- documents


def test_object_array_and_jsonl_documents() -> None:
    assert parse_documents("a.json", '{"firstName": "A"}') == [Document("a.json", {"firstName": "A"})]
    docs = parse_documents("a.json", '[{"firstName": "A"}, {"firstName": "B"}]')
    assert [d.label for d in docs] == ["a.json item 1", "a.json item 2"]
    docs = parse_documents("a.jsonl", '{"firstName": "A"}\n\n{"firstName": "B"}\n')
    assert [d.label for d in docs] == ["a.jsonl line 1", "a.jsonl line 3"]


def test_pretty_printed_single_object_is_one_document() -> None:
    docs = parse_documents("a.json", '{\n  "firstName": "A",\n  "lastName": "B"\n}\n')
    assert docs == [Document("a.json", {"firstName": "A", "lastName": "B"})]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a.json is empty"),
        ("   \n", "a.json is empty"),
        # Python 3.13's parser points at the trailing comma (18), 3.11's at the brace after it (19).
        ('{"firstName": "A",}', r"a.json: invalid JSON at line 1 column 1[89]\b"),
        ('{"a": 1}\n{"b": \n', "a.json line 2: invalid JSON at column 7"),
        ('[{"a": 1}, 3]', "a.json item 2: expected a JSON object, got int"),
        ('"text"', "a.json: expected a JSON object, got str"),
    ],
)
def test_malformed_documents_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_documents("a.json", text)
    assert re.match(message, str(info.value)), str(info.value)


def test_read_documents_from_stdin_and_missing_file(tmp_path: object) -> None:
    assert read_documents("-", io.StringIO('{"a": 1}')) == [Document("stdin", {"a": 1})]
    with pytest.raises(CliError, match=re.escape("cannot read /no/such/file.json: no such file")):
        read_documents("/no/such/file.json")


def test_a_byte_order_mark_is_not_data(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes("\ufeff".encode() + b'{"firstName": "Ada"}\n{"firstName": "Grace"}\n')
    assert [d.data for d in read_documents(str(path))] == [{"firstName": "Ada"}, {"firstName": "Grace"}]
    assert read_documents("-", io.StringIO('\ufeff{"a": 1}')) == [Document("stdin", {"a": 1})]


# --------------------------------------------------------------------------- change sets


def test_assignments_text_and_json() -> None:
    assert parse_assignments(
        ["address.city=Paris", "note=a=b", "count:=3", 'tags:=["x"]'], option="--set"
    ) == {
        "address.city": "Paris",
        "note": "a=b",
        "count": 3,
        "tags": ["x"],
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("nothing", "expected PATH=VALUE"),
        ("=x", "the field path is empty"),
        ("n:={bad", "the value after ':=' must be JSON"),
    ],
)
def test_bad_assignments(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_assignments([raw], option="--set")


def test_assignment_given_twice() -> None:
    with pytest.raises(ValidationError, match="given twice"):
        parse_assignments(["a=1", "a=2"], option="--set")


def test_flatten_and_build_are_inverse() -> None:
    doc = {"address": {"city": "Paris", "state": None}, "tags": ["a"], "workPhone": {}, "firstName": "A"}
    flat = flatten_changes(doc)
    assert flat == {
        "address.city": "Paris",
        "address.state": None,
        "tags": ["a"],
        "workPhone": {},
        "firstName": "A",
    }
    assert build_record(flat) == {
        "address": {"city": "Paris"},
        "tags": ["a"],
        "workPhone": {},
        "firstName": "A",
    }


def test_option_changes_refuse_a_field_given_twice() -> None:
    assert option_changes({"title": "CTO", "lastName": None}, ["address.city=Paris"], kind="contact") == {
        "title": "CTO",
        "address.city": "Paris",
    }
    with pytest.raises(ValidationError, match="also given by its own option"):
        option_changes({"title": "CTO"}, ["title=Boss"], kind="contact")


def test_deep_merge_overlays_nested_objects() -> None:
    base = {"address": {"city": "Paris", "state": "IDF"}, "tags": ["a"]}
    assert deep_merge(base, {"address": {"city": "Lyon"}, "tags": ["b"]}) == {
        "address": {"city": "Lyon", "state": "IDF"},
        "tags": ["b"],
    }
    assert base["address"]["city"] == "Paris"  # not mutated


def test_strip_server_fields() -> None:
    data, removed = strip_server_fields({"id": "1", "createDate": "x", "firstName": "A", "type": "Curated"})
    assert data == {"firstName": "A"} and removed == ["id", "createDate", "type"]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("contact", {"workEmail": "nope"}, "rec: field workEmail: 'nope' is not a valid email address"),
        ("contact", {"personalEmail": "a@b"}, "rec: field personalEmail"),
        ("contact", {"firstName": "x" * 1001}, "rec: field firstName: 1001 characters, at most 1000 allowed"),
        ("contact", {"address": {"postalCode": "1" * 26}}, "rec: field address.postalCode: 26 characters"),
        (
            "contact",
            {"externalSystemUrl": "ftp://x"},
            "rec: field externalSystemUrl: 'ftp://x' is not an http(s) URL",
        ),
        ("contact", {"firstName": 12}, "rec: field firstName: Input should be a valid string"),
        ("contact", {"workPhone": "+33 1"}, "rec: field workPhone"),
        ("organization", {"industry": "x"}, "rec: field name: an organization needs a name"),
        ("organization", {"name": "  "}, "rec: field name: an organization needs a name"),
        ("organization", {"name": "A", "employeeCount": "many"}, "rec: field employeeCount"),
    ],
)
def test_new_record_validation_names_record_and_field(
    kind: str, data: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        validate_new_record(kind, data, record="rec")
    assert str(info.value).startswith(message)
    assert info.value.record == "rec"


def test_valid_records_pass() -> None:
    validate_new_record(
        "contact",
        {"firstName": "Ada", "workEmail": "ada@example.com", "externalSystemUrl": "https://crm.example/1"},
        record="rec",
    )
    validate_new_record("organization", {"name": "Acme", "unknownFutureField": {"x": 1}}, record="rec")


def test_change_validation() -> None:
    validate_changes("contact", {"address.city": "Paris", "title": None}, record="c 1")
    with pytest.raises(ValidationError, match="field workEmail"):
        validate_changes("contact", {"workEmail": "bad"}, record="c 1")
    with pytest.raises(ValidationError, match="needs a name"):
        validate_changes("organization", {"name": None}, record="o 1")


# --------------------------------------------------------------------------- identifiers


def test_phone_normalisation() -> None:
    assert normalize_phone("+33 1 23 45 67 89", None) == "+33123456789"
    assert normalize_phone("01 23 45 67 89", "fr") == "+33123456789"
    assert normalize_phone("(202) 555-0143", "US") == "+12025550143"
    with pytest.raises(ValidationError, match="start with \\+ and the country code"):
        normalize_phone("01 23 45 67 89", None)
    with pytest.raises(ValidationError, match="too short to be a phone number"):
        normalize_phone("+33 1", None)
    with pytest.raises(ValidationError, match="not a possible phone number"):
        normalize_phone("+33 1234", None)


def test_identifier_helpers() -> None:
    assert check_identifier_type("email", ["Email", "Phone"]) == "Email"
    with pytest.raises(ValidationError, match="unknown identifier type 'Fax'"):
        check_identifier_type("Fax", ["Email", "Phone"])
    assert normalize_email(" Ada@Example.COM ") == "Ada@example.com"
    assert normalize_identifier_value("Cookie", "  abc ", None) == "abc"
    with pytest.raises(ValidationError, match="at most 255"):
        normalize_identifier_value("ExternalId", "x" * 256, None)
    with pytest.raises(ValidationError, match="must not be empty"):
        normalize_identifier_value("ExternalId", "  ", None)


# --------------------------------------------------------------------------- update plans


def test_plan_updates_from_options() -> None:
    items = plan_updates(CONTACTS, "c-1", None, {"title": "CTO", "address.state": None})
    assert [(i.record_id, i.changes) for i in items] == [("c-1", {"title": "CTO", "address.state": None})]
    with pytest.raises(CliError, match="nothing to update"):
        plan_updates(CONTACTS, "c-1", None, {})
    with pytest.raises(CliError, match="which contact"):
        plan_updates(CONTACTS, None, None, {"title": "x"})


def test_plan_updates_from_a_file_of_partial_records() -> None:
    docs = [
        Document("f line 1", {"id": "a", "address": {"city": "Paris"}, "modifyDate": "x"}),
        Document("f line 2", {"id": "b", "title": "Boss"}),
    ]
    items = plan_updates(CONTACTS, None, docs, {"surveyOptOut": True})
    assert [(i.label, i.record_id, i.changes) for i in items] == [
        ("f line 1", "a", {"address.city": "Paris", "surveyOptOut": True}),
        ("f line 2", "b", {"title": "Boss", "surveyOptOut": True}),
    ]


@pytest.mark.parametrize(
    ("record_id", "docs", "message"),
    [
        (None, [Document("f line 1", {"title": "x"})], "f line 1: field id: each record needs its id"),
        ("a", [Document("f", {"id": "b", "title": "x"})], "does not match the ID argument 'a'"),
        ("a", [Document("f 1", {"title": "x"}), Document("f 2", {"title": "y"})], "put an id in each record"),
        (None, [Document("f line 1", {"id": "a", "workEmail": "bad"})], "f line 1: field workEmail"),
        (None, [Document("f line 1", {"id": "a"})], "f line 1: no field to change"),
    ],
)
def test_plan_updates_errors(record_id: str | None, docs: list[Document], message: str) -> None:
    with pytest.raises((ValidationError, CliError), match=message):
        plan_updates(ORGANIZATIONS if record_id == "o" else CONTACTS, record_id, docs, {})


def test_patch_changes_from_options_and_file() -> None:
    changes = patch_changes(
        sets=["title=CTO"],
        set_if_empty=["address.city=Paris"],
        removes=["$.middleName"],
        appends=['tags:="vip"'],
        documents=[Document("c.json", {"changes": [{"field": "lastName", "value": "X"}]})],
    )
    assert changes == [
        {"field": "$.title", "value": "CTO", "action": "Update"},
        {"field": "$.address.city", "value": "Paris", "action": "UpdateIfEmpty"},
        {"field": "$.tags", "value": "vip", "action": "AppendToCollection"},
        {"field": "$.middleName", "action": "Remove"},
        {"field": "$.lastName", "value": "X", "action": "Update"},
    ]
    with pytest.raises(CliError, match="nothing to patch"):
        patch_changes(sets=None, set_if_empty=None, removes=None, appends=None, documents=None)
    with pytest.raises(ValidationError, match="unknown action 'Explode'"):
        patch_changes(
            sets=None, set_if_empty=None, removes=None, appends=None,
            documents=[Document("c.json", {"changes": [{"field": "$.a", "action": "Explode"}]})],
        )  # fmt: skip
    with pytest.raises(ValidationError, match=re.escape('expected {"changes"')):
        patch_changes(sets=None, set_if_empty=None, removes=None, appends=None, documents=[Document("c", {})])
