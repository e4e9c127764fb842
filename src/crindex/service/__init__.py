"""The service: an authenticated HTTP API and a web dashboard over the history store.

``crindex serve --store S --model M`` runs it (see docs/service.md); ``crindex token
create|list|revoke`` manages its API tokens. The web parts come with the ``service`` extra
(``pip install 'crindex[service]'``); tokens need only the base install, so the app is
imported when first asked for.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from crindex.service import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
