"""Turn simulated blocks into Arrow tables of the data contract and stream them to files.

Byte-identical output for a seed: Parquet is written by pyarrow with fixed settings and without
the Arrow schema blob, one row group per block; CSV is UTF-8 with a BOM. Ids are built as fixed
width strings straight into Arrow buffers (no Python string per row).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from crindex.synth.profiles import Profile
from crindex.synth.world import (
    CHANNELS,
    KINDS,
    NEVER,
    SHOCKS,
    STATUSES,
    SURVEY_KINDS,
    Block,
    Columns,
)
from crindex.util import atomic_path

TS = pa.timestamp("us")
BOM = b"\xef\xbb\xbf"
ORDER_DIGITS = 10
LEAD_DIGITS = 9


def id_strings(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """``prefix`` + zero-padded ``numbers`` as Arrow strings, built without a loop per row."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n, head = len(numbers), len(prefix)
    size = head + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, :head] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    rest = numbers.copy()
    for col in range(size - 1, head - 1, -1):
        buf[:, col] = 48 + rest % 10
        rest //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(buf.ravel())).cast(pa.string())


def customer_width(total: int) -> int:
    """Digits of customer ids: ``C0000001`` up to 9,999,999 customers, wider beyond."""
    return max(7, len(str(total)))


def _ts(seconds: np.ndarray) -> pa.Array:
    seconds = np.asarray(seconds, dtype=np.int64)
    missing = seconds == NEVER
    micros = np.where(missing, 0, seconds) * 1_000_000
    return pa.array(micros, type=TS, mask=missing if missing.any() else None)


def _dict(codes: np.ndarray, vocabulary: tuple[str, ...] | list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)),
                                          pa.array(list(vocabulary), pa.string()))


def _num(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    return pa.array(values, type=pa.float64(), mask=missing if missing.any() else None)


def schemas(profile: Profile) -> dict[str, pa.Schema]:
    """The Arrow schema of every table this profile writes (contract names and types)."""
    cust = pa.dictionary(pa.int32(), pa.string())
    cat = pa.dictionary(pa.int32(), pa.string())
    customers = [("customer_id", pa.string()), ("created_at", TS)]
    if profile.industries:
        customers.append(("industry", cat))
    if profile.size_bands:
        customers += [("size_band", cat), ("employees", pa.float64())]
    customers += [("region", cat), ("segment", cat)]
    if profile.owners:
        customers.append(("owner", cat))
    customers.append(("churned_at", TS))
    out = {
        "customers": pa.schema(customers),
        "orders": pa.schema([("order_id", pa.string()), ("customer_id", cust),
                             ("ordered_at", TS), ("amount", pa.float64()),
                             ("cost", pa.float64()), ("product_line", cat), ("status", cat)]),
        "interactions": pa.schema([("customer_id", cust), ("occurred_at", TS),
                                   ("channel", cat), ("kind", cat), ("value", pa.float64()),
                                   ("satisfaction", pa.float64())]),
        "surveys": pa.schema([("customer_id", cust), ("answered_at", TS), ("kind", cat),
                              ("score", pa.float64())]),
        "leads": pa.schema([("lead_id", pa.string()), ("created_at", TS), ("source", cat),
                            ("converted_customer_id", pa.string())]),
        "spend": pa.schema([("period_start", TS), ("period_end", TS), ("channel", cat),
                            ("amount", pa.float64())]),
    }
    if profile.plans:
        out["subscriptions"] = pa.schema([("customer_id", cust), ("started_at", TS),
                                          ("ended_at", TS), ("renewed", pa.bool_()),
                                          ("mrr", pa.float64())])
    return out


def segment_names(profile: Profile) -> tuple[str, ...]:
    if profile.segments:
        return tuple(c.name for c in profile.segments)
    if profile.plans:
        return tuple(pl.name for pl in profile.plans)
    return ("SMB", "Mid-Market", "Enterprise")


def owner_names(profile: Profile) -> list[str]:
    prefix = "CSM" if profile.plans else "AM"
    return [f"{prefix}-{i + 1:02d}" for i in range(profile.owners)]


class BlockTables:
    """Converts a :class:`~crindex.synth.world.Block` to Arrow tables; numbers ids in order."""

    def __init__(self, profile: Profile, total: int, grid: np.ndarray) -> None:
        self.p = profile
        self.width = customer_width(total)
        self.schemas = schemas(profile)
        self.grid = grid
        self.next_order = 1
        self.next_lead = 1
        self.lines = list(profile.product_lines) + [pl.name for pl in profile.plans]

    def convert(self, block: Block) -> dict[str, pa.Table]:
        p = self.p
        n = len(block.customers)
        ids = id_strings("C", np.arange(block.first + 1, block.first + n + 1), self.width)
        c = block.customers.data
        cols: dict[str, pa.Array] = {"customer_id": ids, "created_at": _ts(c["created"])}
        if p.industries:
            cols["industry"] = _dict(c["industry"], [x.name for x in p.industries])
        if p.size_bands:
            cols["size_band"] = _dict(c["size_band"], [b[0] for b in p.size_bands])
            cols["employees"] = _num(c["employees"])
        cols["region"] = _dict(c["region"], [r.name for r in p.regions])
        cols["segment"] = _dict(self._segment(c), segment_names(p))
        if p.owners:
            cols["owner"] = _dict(c["owner"], owner_names(p))
        cols["churned_at"] = _ts(c["churn"])
        out = {"customers": self._table("customers", cols)}

        def cust(data: dict[str, np.ndarray]) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(
                pa.array(np.asarray(data["cust"], dtype=np.int32)), ids)

        o = block.orders.data
        k = len(block.orders)
        out["orders"] = self._table("orders", {
            "order_id": id_strings("O", np.arange(self.next_order, self.next_order + k),
                                   ORDER_DIGITS),
            "customer_id": cust(o), "ordered_at": _ts(o["ts"]), "amount": _num(o["amount"]),
            "cost": _num(o["cost"]), "product_line": _dict(o["line"], self.lines),
            "status": _dict(o["status"], STATUSES)})
        self.next_order += k
        i = block.interactions.data
        out["interactions"] = self._table("interactions", {
            "customer_id": cust(i), "occurred_at": _ts(i["ts"]),
            "channel": _dict(i["channel"], CHANNELS), "kind": _dict(i["kind"], KINDS),
            "value": _num(i["value"]), "satisfaction": _num(i["satisfaction"])})
        s = block.surveys.data
        out["surveys"] = self._table("surveys", {
            "customer_id": cust(s), "answered_at": _ts(s["ts"]),
            "kind": _dict(s["kind"], SURVEY_KINDS), "score": _num(s["score"])})
        if block.subscriptions is not None:
            b = block.subscriptions.data
            out["subscriptions"] = self._table("subscriptions", {
                "customer_id": cust(b), "started_at": _ts(b["start"]),
                "ended_at": _ts(b["end"]), "renewed": pa.array(b["renewed"], pa.bool_()),
                "mrr": _num(b["mrr"])})
        ld = block.leads.data
        k = len(block.leads)
        converted = ld["cust"] >= 0
        conv_ids = id_strings("C", block.first + 1 + np.where(converted, ld["cust"], 0),
                              self.width)
        out["leads"] = self._table("leads", {
            "lead_id": id_strings("L", np.arange(self.next_lead, self.next_lead + k),
                                  LEAD_DIGITS),
            "created_at": _ts(ld["ts"]),
            "source": _dict(ld["source"], [x.name for x in p.lead_sources]),
            "converted_customer_id": pa.array(conv_ids.to_numpy(zero_copy_only=False),
                                              pa.string(), mask=~converted)})
        self.next_lead += k
        if block.truth is not None:
            out["truth"] = self._truth(block.truth, ids)
        return out

    def _segment(self, c: dict[str, np.ndarray]) -> np.ndarray:
        if self.p.segments:
            return c["segment"]
        if self.p.plans:
            return c["plan"]
        # B2B: the segment follows the size band (small, medium, large + enterprise)
        return np.minimum(c["size_band"], 2)

    def _truth(self, truth: Columns, ids: pa.Array) -> pa.Table:
        t = truth.data
        shock = np.asarray(t["shock"], dtype=np.int32)
        return pa.table({
            "customer_id": pa.DictionaryArray.from_arrays(
                pa.array(np.asarray(t["cust"], dtype=np.int32)), ids),
            "month": _ts(self.grid[t["month"]]),
            "health": _num(np.round(t["health"].astype(np.float64), 4)),
            "shock": pa.DictionaryArray.from_arrays(
                pa.array(shock, mask=shock == 0), pa.array(list(SHOCKS), pa.string())),
        })

    def _table(self, name: str, cols: dict[str, pa.Array]) -> pa.Table:
        return pa.Table.from_arrays(list(cols.values()), schema=self.schemas[name])

    def spend(self, leads_per_month: np.ndarray, rng: np.random.Generator) -> pa.Table:
        """Marketing spend per month and channel: leads bought times cost per lead, with noise."""
        months, sources = leads_per_month.shape
        cost = np.array([s.cost_per_lead for s in self.p.lead_sources])
        amount = np.round(leads_per_month * cost[None, :]
                          * rng.lognormal(0.0, 0.12, (months, sources)), 2)
        m, s = np.nonzero(amount > 0)
        return self._table("spend", {
            "period_start": _ts(self.grid[m]), "period_end": _ts(self.grid[m + 1] - 86_400),
            "channel": _dict(s, [x.name for x in self.p.lead_sources]),
            "amount": _num(amount[m, s])})


TRUTH_SCHEMA = pa.schema([("customer_id", pa.dictionary(pa.int32(), pa.string())),
                          ("month", TS), ("health", pa.float64()),
                          ("shock", pa.dictionary(pa.int32(), pa.string()))])


class Sink:
    """Stream tables to ``<out>/<name>.parquet`` or ``.csv``; files appear only on :meth:`close`.

    Every file is written under a temporary name beside its target and renamed when the whole
    world has been written, so an interrupted run leaves no half-written table.
    """

    def __init__(self, out: Path, fmt: str, schemas: dict[str, pa.Schema]) -> None:
        self.out, self.fmt = out, fmt
        self.stack = ExitStack()
        self.writers: dict[str, Any] = {}
        self.files: dict[str, IO[bytes]] = {}
        self.paths: dict[str, Path] = {}
        self.rows: dict[str, int] = {}
        self.schemas = schemas
        for name, schema in schemas.items():
            self._open(name, schema)

    def _target(self, name: str) -> Path:
        if name == "truth":
            return self.out / "truth" / f"health.{self.fmt}"
        return self.out / f"{name}.{self.fmt}"

    def _open(self, name: str, schema: pa.Schema) -> None:
        target = self._target(name)
        tmp = self.stack.enter_context(atomic_path(target))
        self.paths[name] = target
        self.rows[name] = 0
        if self.fmt == "parquet":
            dict_cols = [f.name for f in schema if pa.types.is_dictionary(f.type)]
            self.writers[name] = pq.ParquetWriter(
                tmp, schema, compression="zstd", compression_level=1, version="2.6",
                use_dictionary=dict_cols, write_statistics=True, store_schema=False,
                data_page_version="1.0")
        else:
            fh = open(tmp, "wb")  # noqa: SIM115 - closed in close()
            fh.write(BOM)
            self.files[name] = fh
            self.writers[name] = pacsv.CSVWriter(fh, _plain(schema))

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            self.schemas[name] = table.schema
            self._open(name, table.schema)
        if self.fmt == "csv":
            table = table.cast(_plain(table.schema))
        self.writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        """Finish every file and move it into place."""
        for writer in self.writers.values():
            writer.close()
        for fh in self.files.values():
            fh.close()
        self.stack.close()

    def abort(self) -> None:
        """Drop every temporary file (nothing is moved into place)."""
        for writer in self.writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - already failing; the temp file is removed next
                pass
        for fh in self.files.values():
            fh.close()
        # an ExitStack exiting with an exception skips the renames and removes the temp files
        self.stack.__exit__(RuntimeError, RuntimeError("aborted"), None)


def _plain(schema: pa.Schema) -> pa.Schema:
    """CSV columns: dictionary columns as text, timestamps to the second."""
    fields = []
    for f in schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        elif pa.types.is_timestamp(t):
            t = pa.timestamp("s")
        fields.append(pa.field(f.name, t))
    return pa.schema(fields)
