"""The history store's tables: the same schema on DuckDB and PostgreSQL.

::

    meta           key, value                       schema_version
    runs           one row per snapshot             unique (model_name, as_of)
    scores         one row per customer and run     computed score, tier, coverage, owner,
                                                    segment (an attribute), rfm_segment,
                                                    flags (raised ids, comma-separated)
                                                    the sub-model that scored it
    metric_scores  long: one row per customer, run  kind = 'metric' (raw, score, weight,
                   and metric or dimension          contribution, missing) or 'dimension'
    holdouts       one row per customer and run     tier, strategy, strategy_group
                   whose tier has a holdout         (treated / holdout), share, seed
    adjustments    append-only audit log            kind 'add' or 'revoke'
    alert_runs     one row per snapshot whose       the alert entries it was evaluated with
                   alerts were evaluated            (JSON)
    alert_hits     one row per rule firing for a    owner, message, details: what the rule
                   customer on a snapshot           saw on that snapshot
    alerts         one row per episode              derived from alert_hits (see
                                                    crindex.alerts.episodes); status open /
                                                    acknowledged / resolved
    alert_events   append-only status history
    deliveries     every delivery attempt           file or webhook, ok, HTTP status, error
    events         append-only: one row per data    kind (order, interaction, survey), the
                   row sent to the live service     row as JSON; kept before it is
                                                    acknowledged (see crindex.live)

Snapshots are never updated in place: a run writes its rows in one transaction, and a re-run
of the same ``(model_name, as_of)`` deletes the old rows and writes new ones in that same
transaction. ``metric_scores`` is long rather than wide so that models with different metrics
share one store (and one schema) and "what moved a score" is a plain join.
"""

from __future__ import annotations

#: bumped whenever a table changes; a store written by a newer crindex is refused, an older
#: one is upgraded in place (:data:`MIGRATIONS`)
SCHEMA_VERSION = 3

TABLES: dict[str, str] = {
    "meta": """
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL""",
    "runs": """
        run_id TEXT PRIMARY KEY,
        model_name TEXT NOT NULL,
        model_hash TEXT NOT NULL,
        as_of DATE NOT NULL,
        data_fingerprint TEXT,
        ran_at TIMESTAMP NOT NULL,
        customers INTEGER NOT NULL,
        model_info TEXT NOT NULL,
        UNIQUE (model_name, as_of)""",
    "scores": """
        run_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        score DOUBLE PRECISION,
        tier TEXT,
        coverage DOUBLE PRECISION,
        owner TEXT,
        segment TEXT,
        personal TEXT,
        rfm_segment TEXT,
        flags TEXT,
        submodel TEXT""",
    "metric_scores": """
        run_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        item TEXT NOT NULL,
        dimension TEXT,
        raw_num DOUBLE PRECISION,
        raw_text TEXT,
        score DOUBLE PRECISION,
        weight DOUBLE PRECISION,
        contribution DOUBLE PRECISION,
        missing BOOLEAN""",
    "holdouts": """
        run_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        tier TEXT NOT NULL,
        strategy TEXT,
        strategy_group TEXT NOT NULL,
        share DOUBLE PRECISION NOT NULL,
        seed BIGINT NOT NULL""",
    "adjustments": """
        adjustment_id BIGINT PRIMARY KEY,
        action TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        model_name TEXT,
        points DOUBLE PRECISION,
        tier TEXT,
        reason TEXT NOT NULL,
        made_by TEXT NOT NULL,
        made_at TIMESTAMP NOT NULL,
        effective DATE NOT NULL,
        expires DATE,
        revokes BIGINT""",
    "alerts": """
        alert_id BIGINT PRIMARY KEY,
        model_name TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        label TEXT,
        severity TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        owner TEXT,
        status TEXT NOT NULL,
        message TEXT NOT NULL,
        details TEXT,
        run_id TEXT NOT NULL,
        as_of DATE NOT NULL,
        raised_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        cleared_as_of DATE,
        handled TEXT""",
    "alert_runs": """
        run_id TEXT PRIMARY KEY,
        model_name TEXT NOT NULL,
        specs TEXT NOT NULL""",
    "alert_hits": """
        run_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        owner TEXT,
        message TEXT NOT NULL,
        details TEXT""",
    "alert_events": """
        alert_id BIGINT NOT NULL,
        happened_at TIMESTAMP NOT NULL,
        status TEXT NOT NULL,
        by_name TEXT NOT NULL,
        note TEXT""",
    "deliveries": """
        alert_id BIGINT NOT NULL,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        happened_at TIMESTAMP NOT NULL,
        ok BOOLEAN NOT NULL,
        status_code INTEGER,
        error TEXT""",
    "events": """
        event_id BIGINT PRIMARY KEY,
        kind TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        happened_at TIMESTAMP NOT NULL,
        row_json TEXT NOT NULL,
        received_at TIMESTAMP NOT NULL,
        source TEXT NOT NULL""",
}

#: secondary indexes (PostgreSQL only: DuckDB's zone maps serve these scans, and its ART
#: indexes would slow the bulk inserts of large snapshots)
INDEXES: dict[str, str] = {
    "scores_run": "scores (run_id, customer_id)",
    "scores_customer": "scores (customer_id)",
    "holdouts_run": "holdouts (run_id, tier)",
    "metric_scores_run": "metric_scores (run_id, customer_id)",
    "alerts_model": "alerts (model_name, status)",
    "alert_hits_run": "alert_hits (run_id, rule_id, customer_id)",
    "deliveries_alert": "deliveries (alert_id, target)",
    "adjustments_customer": "adjustments (customer_id)",
    "alert_hits_customer": "alert_hits (customer_id)",
}

#: alert statuses, in the order an alert moves through them
ALERT_STATUSES = ("open", "acknowledged", "resolved")


#: what upgrades a store from the version in the key to the next one (run in one write
#: transaction after the ``CREATE TABLE IF NOT EXISTS`` of every table)
MIGRATIONS: dict[int, list[str]] = {
    # 1 -> 2: alerts derived from history (episodes); a person's action kept in `handled`
    1: [
        "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS cleared_as_of DATE",
        "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS handled TEXT",
        "UPDATE alerts SET handled = 'acknowledged' WHERE status = 'acknowledged'",
        "UPDATE alerts SET handled = 'resolved' WHERE status = 'resolved' AND alert_id IN "
        "(SELECT alert_id FROM alert_events WHERE status = 'resolved' "
        "AND by_name <> 'crindex')",
    ],
    # 2 -> 3: the RFM segment of a customer (crindex.model.segments), beside the attribute
    2: [
        # (and the live service's events: that table is created with the others)
        "ALTER TABLE scores ADD COLUMN IF NOT EXISTS rfm_segment TEXT",
        # 2 -> 3: the raised flags (ids, comma-separated), shown beside the score
        "ALTER TABLE scores ADD COLUMN IF NOT EXISTS flags TEXT",
        # 2 -> 3: the sub-model that scored each row (null for a model without sub-models)
        "ALTER TABLE scores ADD COLUMN IF NOT EXISTS submodel TEXT",
    ],
}


def create_statements(indexes: bool) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` for every table (and the indexes when asked)."""
    stmts = [f"CREATE TABLE IF NOT EXISTS {name} ({cols}\n)" for name, cols in TABLES.items()]
    if indexes:
        stmts += [f"CREATE INDEX IF NOT EXISTS {name} ON {on}" for name, on in INDEXES.items()]
    return stmts
