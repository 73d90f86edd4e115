"""The emulator's rules, one module per resource family, over a shared :class:`State`.

``state`` (settings, store, clock, lock, rendering), ``tokens``, ``cleaning`` (request bodies
to stored fields), ``writes`` (planning and applying a record write, identifier claims),
``records`` (CRUD), ``patching`` (PATCH changes), ``listing`` (pages and cursors),
``search`` (search listings and scans), ``bulk``, ``identifiers``, ``enrich``, ``merge``,
``sources``, ``trustors``, ``notes``, ``relationships``, ``snapshot`` (reset, dump, load).
:class:`gcx.emulator.backend.Backend` puts them together.
"""
