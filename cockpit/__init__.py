"""cockpit: the on-call's rollback cockpit."""

__version__ = "0.1.0"

try:  # the compiled dataclass methods from the last launch (cockpit/codecache.py): a third of the imports' time
    from cockpit import codecache as _codecache

    _codecache.install()
except Exception:  # noqa: BLE001 - a cache must never stop the cockpit from starting
    pass
