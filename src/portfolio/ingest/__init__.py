"""Meter-data import: one parser per format (detected from content) and one bulk loader."""
