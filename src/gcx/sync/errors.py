"""Errors of the sync engine (all :class:`gcx.errors.GcxError`)."""

from __future__ import annotations

from gcx.errors import ConfigError, GcxError


class SourceArgumentError(ConfigError):
    """The arguments naming the source do not go together (a usage mistake: exit 2 in the CLI)."""


class SourceQueryError(ConfigError):
    """A SQL source's query failed, at once or while its rows were read, or returned columns the
    mapping cannot read (the query given is wrong: exit 2 in the CLI, as a usage error)."""


class SyncError(GcxError):
    """The sync cannot run (bad ledger, refused prune, wrong org...)."""


class BindingError(SyncError):
    """The ledger belongs to another Genesys org (or region, or external source)."""


class PruneRefusedError(SyncError):
    """Pruning would delete more than the threshold allows without ``--force``."""

    def __init__(self, message: str, *, deletes: int, held: int, threshold: float) -> None:
        super().__init__(message)
        self.deletes = deletes
        self.held = held
        self.threshold = threshold


class IllegalTransitionError(SyncError):
    """An operation's state change that the state machine does not allow."""


class LedgerVersionError(SyncError):
    """The ledger was written by a newer gcx (its schema is newer than this gcx reads)."""


class LedgerLockedError(SyncError):
    """Another run is using the ledger."""


class RunStopped(SyncError):
    """A stop was requested (a service shutting down): the run ended after its batches in flight."""


class LeaseLostError(SyncError):
    """This run's lease on the ledger was taken over (or released by hand): it must not write."""
