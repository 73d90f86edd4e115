"""Tools to prove a sync exact: state verification, secret scanning and the chaos harness.

Test tooling, kept out of the shipped ``gcx`` package (the wheel holds ``gcx`` only): the test
suite, the benchmarks and the service tests import it from a development checkout.

* :func:`gcx_testkit.verify.verify` compares an emulator state dump (``GET /_emulator/state``)
  with the source of truth, the values people set on the Genesys side and the ledger;
* :func:`gcx_testkit.verify.find_secrets` looks for secrets and bearer tokens in captured text;
* :mod:`gcx_testkit.chaos` runs ``gcx sync apply`` against the emulator under faults, token
  revocations, 429 bursts and SIGKILLs (``benchmarks/chaos.py`` is its command line).
"""

from gcx_testkit.verify import Expectation, VerifyReport, find_secrets, verify

__all__ = ["Expectation", "VerifyReport", "find_secrets", "verify"]
