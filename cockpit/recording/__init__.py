"""Record every live session to one SQLite file; replay it read-only.

``Recorder`` appends (durably, de-duplicated, secrets redacted), ``Player`` reads (indexed, damage-tolerant, no
network), ``format`` holds the schema, the event payload shapes and the model codecs both share.
"""

from cockpit.recording.format import (
    ACTION_KINDS,
    EVENT_KINDS,
    SCHEMA_VERSION,
    RecordingError,
    RecordingMeta,
    answer_payload,
    decision_payload,
    default_path,
    describe,
    feed_status_from_dict,
    from_dict,
    gateway_payload,
    marker_payload,
    redact,
    snapshot_from_dict,
    snapshot_to_dict,
    step_payload,
)
from cockpit.recording.player import Event, Player
from cockpit.recording.recorder import Recorder

__all__ = [
    "ACTION_KINDS",
    "EVENT_KINDS",
    "SCHEMA_VERSION",
    "Event",
    "Player",
    "Recorder",
    "RecordingError",
    "RecordingMeta",
    "answer_payload",
    "decision_payload",
    "default_path",
    "describe",
    "feed_status_from_dict",
    "from_dict",
    "gateway_payload",
    "marker_payload",
    "redact",
    "snapshot_from_dict",
    "snapshot_to_dict",
    "step_payload",
]
