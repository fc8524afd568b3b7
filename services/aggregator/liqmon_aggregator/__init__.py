"""Aggregator: exact sliding windows and rankings from the event stream."""
