"""The service: an authenticated HTTP API and a web dashboard over the history store.

``crindex serve --store S --model M`` runs it (see docs/service.md); ``crindex token
create|list|revoke`` manages its API tokens.
"""

from crindex.service.app import Settings, create_app, serve

__all__ = ["Settings", "create_app", "serve"]
