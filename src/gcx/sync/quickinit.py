"""A faster ``__init__`` for the frozen dataclasses a sync builds once or more per record.

A frozen dataclass's own ``__init__`` sets each field through ``object.__setattr__`` (its
``__setattr__`` refuses writes): about 0.7 us for six fields, several times per record of a
first sync (the ledger op, the bulk item's outcome, the batch's write...). :func:`quick_init`
replaces it with one that writes the fields straight into the instance's ``__dict__`` (or, for
a class with ``slots``, through each field's slot descriptor, without looking the name up), with
the same parameters, defaults and values; the class stays frozen for everyone else. The
dataclass's own ``__init__`` stays as ``__reference_init__`` (the tests build with both and
compare).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")
#: The type of a slot's descriptor on its class (``member_descriptor``).
_SLOT = type(type("_Slotted", (), {"__slots__": ("a",)}).__dict__["a"])


def quick_init(cls: type[T]) -> type[T]:
    """Give frozen dataclass ``cls`` an ``__init__`` that writes its fields at once.

    Only for what the faster one does exactly as the dataclass's: every field set by ``__init__``
    (positional or keyword), defaults plain values, no ``__post_init__``, instances with a
    ``__dict__`` or the class's own slot for each field. Anything else is refused (``TypeError``)
    when the class is made.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__}: quick_init is for frozen dataclasses")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: quick_init needs a class with no __post_init__")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    slotted = "__slots__" in vars(cls)
    if slotted and not all(type(vars(cls).get(f.name)) is _SLOT for f in fields):
        raise TypeError(f"{cls.__name__}: quick_init needs the class's own slot for each field")
    env: dict[str, Any] = {}  # the made __init__'s globals: defaults, slot setters
    args: list[str] = []
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: quick_init takes plain positional fields only")
        if f.default is dataclasses.MISSING:
            args.append(f.name)
        else:
            env[f"_d_{f.name}"] = f.default
            args.append(f"{f.name}=_d_{f.name}")
    if slotted:
        env.update({f"_s_{f.name}": vars(cls)[f.name].__set__ for f in fields})
        body = "".join(f"    _s_{f.name}(self, {f.name})\n" for f in fields)
    else:
        body = "    d = self.__dict__\n" + "".join(f"    d[{f.name!r}] = {f.name}\n" for f in fields)
    source = f"def __init__(self, {', '.join(args)}):\n{body}"
    namespace: dict[str, Any] = {}
    exec(source, dict(env), namespace)  # noqa: S102 - code made from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__reference_init__ = cls.__init__  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
