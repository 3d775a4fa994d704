"""The one exception tree of the monitor.

A bad feed or page is *data* (a status and a reason on its result record), not an
exception. Exceptions are for what stops a run: a broken config or database.

    MonitorError                  root of everything the monitor raises on purpose
    ├── ConfigError               the config file, a key in it, or an env variable is wrong
    ├── StorageError              the database cannot be reached, migrated or written
    │   └── RejectedItemError     the database refused one item's values: that item
    │                             fails alone (its reason recorded), the run goes on
    ├── DeliveryError             the alert email could not be handed to SMTP
    ├── AlertNotFoundError        an operator named an alert id that does not exist
    └── UnsafeURLError            a URL is refused by the SSRF guard (raised inside fetch,
                                  turned into a per-URL status before it leaves it)
"""

from __future__ import annotations


class MonitorError(Exception):
    """Root of every error the monitor raises on purpose."""


class ConfigError(MonitorError):
    """The config file, a key in it, or an environment variable is wrong."""


class StorageError(MonitorError):
    """The database cannot be reached, migrated or written."""


class RejectedItemError(StorageError):
    """The database refused the values of one item (a feed, an entry, an article)."""


class DeliveryError(MonitorError):
    """The alert email could not be handed to the SMTP server."""


class AlertNotFoundError(MonitorError):
    """An operator named an alert id that does not exist."""


class UnsafeURLError(MonitorError):
    """A URL is refused by the SSRF guard (non-public address, bad scheme)."""
