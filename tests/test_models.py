"""Generated models: complete, up to date, and lossless on round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import gcx.models as models
from gcx.models import ExternalContact, ExternalOrganization
from tests.conftest import ROOT, SPEC_PATH

SHARED_SPEC = ROOT.parent / "shared" / "spec" / "externalcontacts.openapi.json"


def test_packaged_spec_matches_the_shared_contract() -> None:
    if SHARED_SPEC.exists():
        assert json.loads(SPEC_PATH.read_text()) == json.loads(SHARED_SPEC.read_text())


def test_every_schema_has_a_model_with_every_property() -> None:
    spec = json.loads(SPEC_PATH.read_text())
    for name, schema in spec["components"]["schemas"].items():
        model = getattr(models, name)
        aliases = {f.alias or n for n, f in model.model_fields.items()}
        assert set(schema.get("properties", {})) <= aliases, name


def test_generated_file_is_up_to_date(tmp_path: Path) -> None:
    generated = ROOT / "src" / "gcx" / "models" / "_generated.py"
    before = generated.read_text()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_models.py")], check=True, capture_output=True)
    assert generated.read_text() == before, "run scripts/gen_models.py and commit the result"


def test_unknown_fields_survive_get_model_put() -> None:
    body: dict[str, Any] = {
        "id": "c1",
        "firstName": "Ada",
        "schema": {"id": "s", "version": 2},
        "cellPhone": {"display": "+1 317-555-0100", "e164": "+13175550100", "futurePhoneFlag": True},
        "futureTopLevel": {"nested": [1, 2, {"x": None}]},
        "externalOrganization": {"id": "o1", "name": "Acme", "futureOrgField": "kept"},
        "customFields": {"tier_text": "gold"},
        "lastName": None,
    }
    contact = ExternalContact.from_api(body)
    assert contact.to_api() == body
    assert contact.unknown_fields == {"futureTopLevel": {"nested": [1, 2, {"x": None}]}}
    assert contact.schema_ is not None and contact.schema_.version == 2


def test_fields_never_set_are_not_sent() -> None:
    org = ExternalOrganization(name="Acme")
    assert org.to_api() == {"name": "Acme"}


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@given(
    extra=st.dictionaries(
        st.text(min_size=1, max_size=8).filter(
            lambda k: k not in ExternalContact.model_fields and k != "schema"
        ),
        json_value,
        max_size=4,
    )
)
def test_any_unknown_field_round_trips(extra: dict[str, Any]) -> None:
    body = {"firstName": "x", **extra}
    assert ExternalContact.from_api(body).to_api() == body
