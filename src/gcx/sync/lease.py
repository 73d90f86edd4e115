"""The ledger's run lease: one run writes through a ledger at a time, and knows when it no longer may.

Two applies on one ledger at once could both create a record, so a run holds the ledger's
lease (the row of table ``lock``) from start to end:

* **Identity**: the holder is a random run id (the lease token), with its host, the machine it
  runs on (boot id and PID namespace, on Linux) and its pid for people to read. A pid is only
  trusted where it means something: in the same PID namespace of the same boot.
* **Renewal**: a background thread (:class:`LeaseKeeper`) renews the lease every quarter of its
  length while the run lives — also while the run waits out a 429, scans a snapshot or plans
  without yielding to the event loop.
* **Taking over**: a lease not renewed for its length (default 120 s) is stale and is taken over
  (the holder is gone, or stuck: it finds out at its next fencing check). A fresh lease is
  taken over at once only when its holder's pid is dead *in the same PID namespace of the same
  boot* (a rerun after ``kill -9``): a run in another container never judges a pid it cannot see.
* **Fencing**: before every write batch the run renews the lease in the same transaction as
  the batch's ``started`` rows, on condition that the token is still its own; a run that lost
  its lease stops (:class:`~gcx.sync.errors.LeaseLostError`) before writing anything more.
* ``gcx sync status`` shows the lease; ``gcx sync unlock`` releases it by hand (a run still
  alive stops before its next batch).

Ages are measured with each host's clock: hosts sharing a ledger must agree on the time to well
within the lease length (NTP does). The decisions here are pure; :class:`~gcx.sync.ledger.Ledger`
does the database side.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("gcx.sync.lease")

DEFAULT_LEASE_SECONDS = 120.0


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def machine_id() -> str | None:
    """The boot and PID namespace this process runs in (``None`` where it cannot be known)."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        pidns = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{boot}/{pidns}" if boot else None


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: the run id (token), the host, the machine (boot and PID namespace) and pid."""

    run: str
    host: str
    machine: str | None
    pid: int

    @classmethod
    def me(cls) -> Holder:
        return cls(run=uuid.uuid4().hex, host=socket.gethostname(), machine=machine_id(), pid=os.getpid())

    def host_column(self) -> str:
        """The ``host`` column: ``hostname|machine`` (the machine part only where it is known)."""
        return f"{self.host}|{self.machine}" if self.machine else self.host

    @classmethod
    def from_row(cls, host: str, pid: int, token: str) -> Holder:
        name, _, machine = host.partition("|")
        return cls(run=token, host=name, machine=machine or None, pid=pid)

    def describe(self) -> str:
        return f"run {self.run[:12]}, pid {self.pid} on {self.host}"


def held_by_other(
    current: Holder,
    renewed: float,
    me: Holder,
    *,
    now: float,
    lease: float,
    pid_alive: Callable[[int], bool],
) -> str | None:
    """Pure: why ``me`` may not take the lease ``current`` holds (``None``: take it over)."""
    age = now - renewed
    if age >= lease:
        return None  # stale: the holder is gone or stuck (its fencing check stops it)
    if current.machine is not None and current.machine == me.machine and not pid_alive(current.pid):
        return None  # its process is dead, and we can see its processes: a rerun after kill -9
    return (
        f"another gcx sync ({current.describe()}) is using this ledger (lease renewed {max(age, 0):.0f} s ago); "
        f"wait for it to finish (a lease not renewed for {lease:.0f} s is taken over), or release it "
        "with gcx sync unlock if that run is gone"
    )


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LeaseKeeper:
    """Renews a lease from a background thread every ``interval`` seconds until stopped.

    ``renew`` returns ``False`` when the lease is no longer ours (taken over or released by
    hand): the keeper stops and :attr:`lost` is set. A database error is logged and retried at
    the next interval (the fencing check is what guards the writes).
    """

    def __init__(
        self, renew: Callable[[], bool], interval: float, on_stop: Callable[[], None] | None = None
    ) -> None:
        self._renew = renew
        self._interval = interval
        self._on_stop = on_stop
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._loop, name="gcx-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self._renew():
                    self.lost = True
                    log.warning(
                        "the ledger's lease was taken by another run: this run stops before its next batch"
                    )
                    return
            except Exception as exc:  # the database may be back at the next interval
                log.warning("could not renew the ledger's lease (%s): retrying", type(exc).__name__)

    def stop(self) -> None:
        """Stop renewing; then ``on_stop`` (closing what the thread renewed through)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        on_stop, self._on_stop = self._on_stop, None
        if on_stop is not None:
            on_stop()
