"""cockpit: the on-call's rollback cockpit."""

__version__ = "0.1.0"
