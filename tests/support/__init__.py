"""Helpers shared by several test modules (worlds, fake results, a running server)."""
