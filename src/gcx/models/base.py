"""Base class for every API model: keeps unknown fields, speaks the API's names."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """A record as the API sends it.

    * Field names are the API's own (``firstName``, ``externalOrganization``...).
    * Unknown fields are kept (``extra="allow"``) and written back by :meth:`to_api`,
      so ``GET -> model -> PUT`` never drops a field the server returned, known or not.
    * Only fields that were set (read from the server or assigned) are serialised: a
      field the caller never touched is not sent as ``null``.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        validate_assignment=False,
        defer_build=True,
        protected_namespaces=(),
        ser_json_inf_nan="null",
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON-ready body for this record, unknown fields included."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def from_api(cls, data: dict[str, Any] | Self) -> Self:
        """Parse a body from the API (or return a model unchanged)."""
        if isinstance(data, cls):
            return data
        return cls.model_validate(data)

    @property
    def unknown_fields(self) -> dict[str, Any]:
        """Fields the server sent that this version of gcx does not model."""
        return dict(self.model_extra or {})
