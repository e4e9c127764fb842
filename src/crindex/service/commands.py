"""``crindex serve`` and ``crindex token create|list|revoke``."""

from __future__ import annotations

import sys

import typer

StoreOpt = typer.Option(None, "--store", "-s", help="history store: DuckDB file or "
                        "postgresql:// URL (default $CRINDEX_STORE or crindex-history.duckdb)")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``token`` group to ``app``."""
    token_app = typer.Typer(help="API tokens of `crindex serve` (stored hashed in the store).",
                            no_args_is_help=True)
    app.add_typer(token_app, name="token")

    @app.command("serve")
    def serve_command(
        model: str = typer.Option(..., "--model", "-m", help="the model file (YAML) whose "
                                  "latest snapshot is served"),
        store: str | None = StoreOpt,
        data: str | None = typer.Option(None, "--data", "-d", help="data that POST /v1/runs "
                                        "scores (folder, DuckDB file or URL)"),
        host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
        port: int = typer.Option(8000, "--port", help="port to listen on"),
        workers: int = typer.Option(1, "--workers", min=1, max=64,
                                    help="worker processes (each holds its own cache)"),
        refresh: float = typer.Option(5.0, "--refresh", min=0.2, help="seconds between checks "
                                      "of the store for changes made elsewhere"),
        log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
        live: bool = typer.Option(False, "--live", help="take events (POST /v1/events) and "
                                  "rescore the customers they touch; needs --data and one "
                                  "worker"),
    ) -> None:
        """Serve the API (/v1, /healthz, /openapi.json) and the dashboard (/ui)."""
        from crindex.extras import require

        require("service", "`crindex serve`")
        from crindex.model.loader import load_model
        from crindex.service.app import Settings, serve
        from crindex.store import require_store

        load_model(model)  # a broken model file fails here, readably, before uvicorn starts
        if live and not data:
            from crindex.errors import DataError, Reason

            raise DataError.single(Reason.BAD_PARAMETER, "--live needs --data: the data the "
                                   "events are added to", "--live",
                                   "give the data folder, file or URL with --data")
        settings = Settings(store=require_store(store), model=model, data=data,
                            refresh=refresh, live=live)
        typer.echo(f"crindex serving {model} from {settings.store} on http://{host}:{port} "
                   f"(dashboard /ui, API /v1)", err=True)
        serve(settings, host=host, port=port, workers=workers, log_level=log_level)

    @token_app.command("create")
    def token_create(
        name: str = typer.Option(..., "--name", help="who or what uses the token"),
        scope: list[str] = typer.Option(["read"], "--scope", help="read, write or admin "
                                        "(repeatable; admin > write > read)"),
        store: str | None = StoreOpt,
    ) -> None:
        """Create a token and print it once (only its hash is stored)."""
        from crindex.service.auth import create_token
        from crindex.store import open_store

        token, info = create_token(open_store(store), name, scope)
        typer.echo(f"token {info.token_id} ({info.name}, scopes {' '.join(info.scopes)}); "
                   "copy it now, it is not shown again:", err=True)
        sys.stdout.write(token + "\n")

    @token_app.command("list")
    def token_list(
        store: str | None = StoreOpt,
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """List tokens (id, name, scopes, created, revoked); never the tokens themselves."""
        from crindex.service.auth import list_tokens
        from crindex.store import open_store

        tokens = list_tokens(open_store(store, create=False))
        if as_json:
            from crindex.output import print_json

            print_json([t.to_dict() for t in tokens])
            return
        for t in tokens:
            state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
            typer.echo(f"{t.token_id}  {t.name:<20} {' '.join(t.scopes):<18} "
                       f"created {t.created_at}  {state}")
        if not tokens:
            typer.echo("no tokens yet: crindex token create --name NAME --scope read", err=True)

    @token_app.command("revoke")
    def token_revoke(
        token_id: str = typer.Argument(..., help="the token's id (crindex token list)"),
        store: str | None = StoreOpt,
    ) -> None:
        """Revoke a token (servers refuse it within their refresh interval)."""
        from crindex.service.auth import revoke_token
        from crindex.store import open_store

        info = revoke_token(open_store(store, create=False), token_id)
        typer.echo(f"revoked {info.token_id} ({info.name}) at {info.revoked_at}")
