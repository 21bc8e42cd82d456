"""Identity: identifier normalisation, the identity graph, merges and duplicate detection."""
