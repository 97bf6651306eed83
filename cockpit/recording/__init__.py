"""Record every live session to one SQLite file; replay it read-only.

``Recorder`` appends (durably, de-duplicated, secrets redacted, a pane's changes rather than the whole pane),
``RecordingSink`` (``sink``) feeds it from a thread with a bounded queue, ``Player`` reads (indexed, damage-tolerant,
bounded, no network), ``format`` holds the schema and the event payload shapes, ``codec`` the msgspec model codec,
the keyframe/delta frames and bounded inflation, and ``bench`` the recording and replay figures.
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
