"""Events: sources and their write keys, Segment-compatible ingestion, the event log."""
