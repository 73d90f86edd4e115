"""Data for ``gcx demo``: the CRM extract generator (:mod:`gcx.demo.crm`) and its mapping."""

from __future__ import annotations

from importlib import resources


def mapping_text() -> str:
    """The mapping of the demo CRM extract (same as ``examples/crm_mapping.toml``)."""
    return resources.files("gcx.demo").joinpath("crm_mapping.toml").read_text(encoding="utf-8")
