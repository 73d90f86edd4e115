"""quick_init's ``__init__`` builds what the dataclass's own builds (hypothesis), and refuses the
classes it could not build exactly."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.sync.batch import Gone, Write
from gcx.sync.plan import After
from gcx.sync.quickinit import quick_init
from gcx.sync.records import Record
from gcx.sync.remote import ItemResult
from gcx.sync.rows import LedgerEntry, NewOp, Outcome

QUICK = [Record, ItemResult, NewOp, Outcome, Write, Gone, LedgerEntry, After]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=5),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _reference(cls: type[Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    obj = cls.__new__(cls)
    cls.__reference_init__(obj, *args, **kwargs)
    return obj


@settings(max_examples=300, deadline=None)
@given(cls=st.sampled_from(QUICK), data=st.data())
def test_quick_init_builds_what_the_dataclass_builds(cls: type[Any], data: st.DataObject) -> None:
    fields = dataclasses.fields(cls)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    given_fields = required + [f for f in fields if f not in required and data.draw(st.booleans())]
    positional = data.draw(st.integers(min_value=0, max_value=len(required)))
    drawn = {f.name: data.draw(values) for f in given_fields}
    args = [drawn[f.name] for f in required[:positional]]
    kwargs = {name: v for name, v in drawn.items() if name not in {f.name for f in required[:positional]}}
    quick = cls(*args, **kwargs)
    reference = _reference(cls, args, kwargs)
    if hasattr(quick, "__dict__"):
        assert vars(quick) == vars(reference)
        assert list(vars(quick)) == list(vars(reference))
    else:  # slots: each one set
        assert [getattr(quick, f.name) for f in fields] == [getattr(reference, f.name) for f in fields]
    assert quick == reference
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(quick, fields[0].name, 1)


@pytest.mark.parametrize("cls", QUICK)
def test_quick_init_keeps_the_signature_and_errors(cls: type[Any]) -> None:
    reference = inspect.signature(cls.__reference_init__)
    assert list(inspect.signature(cls.__init__).parameters) == list(reference.parameters)
    assert [p.default for p in inspect.signature(cls.__init__).parameters.values()] == [
        p.default for p in reference.parameters.values()
    ]
    with pytest.raises(TypeError, match="missing"):
        cls()
    with pytest.raises(TypeError, match="unexpected keyword"):
        cls(*range(len(dataclasses.fields(cls))), nope=1)


def test_quick_init_refuses_what_it_would_build_differently() -> None:
    with pytest.raises(TypeError, match="frozen"):
        quick_init(dataclasses.dataclass(type("Loose", (), {"__annotations__": {"a": "int"}})))

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Inherited(Slotted):  # its field's slot is its base's
        b: int

    @dataclasses.dataclass(frozen=True)
    class Post:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Factory, Inherited, Post):
        with pytest.raises(TypeError):
            quick_init(cls)
