"""Tools to prove a sync exact: state verification, secret scanning and the chaos harness.

* :func:`gcx.testing.verify.verify` compares an emulator state dump (``GET /_emulator/state``)
  with the source of truth, the values people set on the Genesys side and the ledger;
* :func:`gcx.testing.verify.find_secrets` looks for secrets and bearer tokens in captured text;
* :mod:`gcx.testing.chaos` runs ``gcx sync apply`` against the emulator under faults, token
  revocations, 429 bursts and SIGKILLs (``benchmarks/chaos.py`` is its command line).
"""

from gcx.testing.verify import Expectation, VerifyReport, find_secrets, verify

__all__ = ["Expectation", "VerifyReport", "find_secrets", "verify"]
