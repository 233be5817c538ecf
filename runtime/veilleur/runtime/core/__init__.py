"""Pure vocabulary types shared by every stage: taxonomy, events, detections, geometry, alerts."""
