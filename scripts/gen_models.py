"""Generate ``src/gcx/models/_generated.py`` from the OpenAPI contract.

Run: ``python scripts/gen_models.py [path/to/externalcontacts.openapi.json]``.
``tests/test_models.py`` checks that the committed file matches this output.
Every model keeps unknown fields (``extra="allow"``) so that a record read from
the API can be written back without losing anything.
"""

from __future__ import annotations

import json
import keyword
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = ROOT / "src" / "gcx" / "spec" / "externalcontacts.openapi.json"
OUT = ROOT / "src" / "gcx" / "models" / "_generated.py"

SHADOWED = {"schema", "json", "dict", "copy", "validate", "construct", "fields"}


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _py_type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return _ref_name(prop["$ref"])
    if "allOf" in prop and len(prop["allOf"]) == 1 and "$ref" in prop["allOf"][0]:
        return _ref_name(prop["allOf"][0]["$ref"])
    t = prop.get("type")
    if t == "string":
        return "str"
    if t == "integer":
        return "int"
    if t == "number":
        return "float"
    if t == "boolean":
        return "bool"
    if t == "array":
        return f"list[{_py_type(prop.get('items', {}))}]"
    if t == "object":
        ap = prop.get("additionalProperties")
        if isinstance(ap, dict) and ap:
            return f"dict[str, {_py_type(ap)}]"
        return "dict[str, Any]"
    return "Any"


def _attr_name(name: str) -> str:
    attr = name.lstrip("$")
    if name.startswith("$"):
        attr = "dollar_" + attr
    if keyword.iskeyword(attr) or attr in SHADOWED:
        attr = attr + "_"
    return attr


def _doc(text: str) -> str:
    return " ".join(text.replace('\\"', '"').split())


def generate(spec: dict[str, Any]) -> str:
    schemas: dict[str, Any] = spec["components"]["schemas"]
    lines = [
        '"""Models generated from the External Contacts OpenAPI contract. Do not edit.',
        "",
        "Regenerate with ``python scripts/gen_models.py``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "from pydantic import Field",
        "",
        "from gcx.models.base import ApiModel",
        "",
    ]
    for name in sorted(schemas):
        schema = schemas[name]
        lines.append("")
        lines.append("")
        lines.append(f"class {name}(ApiModel):")
        desc = schema.get("description")
        doc = _doc(desc).replace('"', "'") if desc else name + " (API schema)."
        lines.append(f'    """{doc}"""')
        props: dict[str, Any] = schema.get("properties", {})
        if not props:
            continue
        lines.append("")
        for pname, prop in props.items():
            attr = _attr_name(pname)
            typ = _py_type(prop)
            extra = []
            if attr != pname:
                extra.append(f'alias="{pname}"')
            desc = prop.get("description")
            enum = prop.get("enum") or (prop.get("items") or {}).get("enum")
            if enum and len(enum) <= 20:
                desc = (desc + " " if desc else "") + "One of: " + ", ".join(enum) + "."
            if desc:
                extra.append(f"description={_doc(desc)!r}")
            if prop.get("readOnly"):
                extra.append('json_schema_extra={"readOnly": True}')
            if extra:
                lines.append(f"    {attr}: {typ} | None = Field(default=None, {', '.join(extra)})")
            else:
                lines.append(f"    {attr}: {typ} | None = None")
    lines.append("")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    spec_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC
    spec = json.loads(spec_path.read_text())
    OUT.write_text(generate(spec))
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(OUT)], check=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
