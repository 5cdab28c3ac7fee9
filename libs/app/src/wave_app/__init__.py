"""WAVE application layer."""
