"""Labels: the schema, the append-only store, agreement statistics."""

from modkit.labels.store import SOURCES, LabelEvent, LabelStore, Resolved, read_events, text_sha

__all__ = ["SOURCES", "LabelEvent", "LabelStore", "Resolved", "read_events", "text_sha"]
