"""Properties of the pure planner (hypothesis): applying a plan converges, unmanaged data survives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.sync.fields import remote_value, same
from gcx.sync.plan import applied_after, decide, update_body
from gcx.sync.records import Record
from gcx.sync.rows import LedgerEntry

SRC = "src-1"
PATHS = ["firstName", "title", "workEmail", "cellPhone", "address.city"]
VALUES: dict[str, list[Any]] = {
    "firstName": [None, "Jane", "Janet"],
    "title": [None, "CTO", "CEO"],
    "workEmail": [None, "jane@x.com", "JANE@X.COM", "j@y.org"],
    "cellPhone": [None, "+15550100100", "+442079460958"],
    "address.city": [None, "Paris", "Lyon"],
}


def server_form(path: str, value: Any) -> Any:
    """What Genesys stores for a value gcx writes (phones get a rewritten display)."""
    if value is None:
        return None
    if path == "cellPhone":
        return {"display": f"{value[:2]} {value[2:]}", "e164": value, "userInput": value}
    return value


def as_remote(values: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "g-1",
        "externalIds": [{"externalSource": {"id": SRC}, "value": "k"}],
        **extra,
    }
    for path, v in values.items():
        v = server_form(path, v)
        if v is None:
            continue
        if "." in path:
            head, leaf = path.split(".")
            body.setdefault(head, {})[leaf] = v
        else:
            body[path] = v
    return body


def after_put(body: dict[str, Any]) -> dict[str, Any]:
    """The server's view after a PUT of ``body``: phones normalised as Genesys does."""
    out = dict(body)
    phone = out.get("cellPhone")
    if isinstance(phone, dict) and "display" in phone and "e164" not in phone:  # written by gcx
        e164 = phone["display"]
        out["cellPhone"] = {**phone, "display": f"{e164[:2]} {e164[2:]}", "e164": e164}
    return out


values_st = st.fixed_dictionaries({p: st.sampled_from(VALUES[p]) for p in PATHS})
managed_st = st.sets(st.sampled_from(PATHS), min_size=1)


@settings(max_examples=60, deadline=None)
@given(source=values_st, managed=managed_st, last=st.none() | values_st, remote=values_st)
def test_source_wins_converges_in_one_write(
    source: dict[str, Any], managed: set[str], last: dict[str, Any] | None, remote: dict[str, Any]
) -> None:
    record = Record("contact", "k", {p: source[p] for p in sorted(managed)})
    entry = LedgerEntry("contact", "k", "g-1", "h", dict(last), None, True) if last is not None else None
    unmanaged = {"lastName": "Agent", "twitterId": {"screenName": "x"}, "futureField": [1]}
    remote_body = as_remote(remote, unmanaged)
    op = decide(record, entry, remote_body)
    new_body = remote_body if op.op == "unchanged" else after_put(update_body(op, remote_body, SRC, None))
    for name, value in unmanaged.items():
        assert new_body[name] == value  # never lost
    new_entry = LedgerEntry("contact", "k", "g-1", "h", applied_after(op), None, True)
    again = decide(record, new_entry, new_body)
    assert again.op == "unchanged" and not again.conflicts, (op, again)
    for path in managed:
        if source[path] is not None:
            assert same("contact", path, remote_value("contact", path, new_body), source[path])
        elif entry is None or entry.applied.get(path) is None:
            # a value gcx never wrote is left alone
            assert same(
                "contact",
                path,
                remote_value("contact", path, new_body),
                remote_value("contact", path, remote_body),
            )


@settings(max_examples=40, deadline=None)
@given(source=values_st, last=values_st, remote=values_st)
def test_report_policy_never_overwrites_an_edit(
    source: dict[str, Any], last: dict[str, Any], remote: dict[str, Any]
) -> None:
    record = Record("contact", "k", dict(source))
    entry = LedgerEntry("contact", "k", "g-1", "h", dict(last), None, True)
    remote_body = as_remote(remote, {})
    op = decide(record, entry, remote_body, policy="report")
    edited = {p for p in PATHS if not same("contact", p, remote_value("contact", p, remote_body), last[p])}
    assert not {c.path for c in op.changes} & edited
