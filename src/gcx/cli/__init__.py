"""The ``gcx`` command line (built on the client library; no HTTP code of its own)."""
