"""Evidence: what an operator sees of an alert or a live stream (boxes, ids, zones drawn)."""
