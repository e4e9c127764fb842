"""The dashboard (filled in by the next step)."""

from __future__ import annotations

from fastapi import FastAPI


def install_pages(app: FastAPI) -> None:
    """Add the dashboard's routes to ``app``."""
