"""``gcx serve``: the sync as a long-running, multi-worker service.

Modules (one concern each):

* :mod:`~gcx.service.config`   the TOML jobs file (pure parsing and validation);
* :mod:`~gcx.service.database` the service's own tables in PostgreSQL and their queries;
* :mod:`~gcx.service.embedded` an embedded PostgreSQL (the ``pgserver`` wheel) when no URL is given;
* :mod:`~gcx.service.limits`   one OAuth token and one rate budget for the whole fleet;
* :mod:`~gcx.service.signing`  webhook signatures (HMAC-SHA256 over timestamp + body, pure);
* :mod:`~gcx.service.intake`   webhook bodies -> validated events (pure);
* :mod:`~gcx.service.runner`   the one seam to :mod:`gcx.sync`: a job run, a webhook batch;
* :mod:`~gcx.service.tasks`    procrastinate tasks: schedules, locks, retries, stalled recovery;
* :mod:`~gcx.service.retention` old runs, applied events and run files removed (a periodic task);
* :mod:`~gcx.service.web`      the ASGI app: webhooks, health, readiness, metrics;
* :mod:`~gcx.service.metrics`  Prometheus metrics, read from the database (fleet-wide);
* :mod:`~gcx.service.logs`     JSON log lines, secrets redacted.
"""
