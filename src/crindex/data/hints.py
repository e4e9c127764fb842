"""How to fix what the checks found: one hint per reason, from the values at fault."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from crindex.contract import TABLE, UNIQUE_ID, USUAL_VALUES, VOCABULARIES
from crindex.model.spec import EXCEL_SERIAL, SourceSpec

#: a number written with a decimal comma (1810,67; 1.810,67), as crindex.data.read reads it
COMMA_DECIMAL = r"[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]*),[0-9]+"
#: how a number whose other separator groups thousands is written, per decimal separator: a
#: value holding that other separator anywhere else is unreadable, never a wrong number
GROUPED = {".": r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?",
           ",": r"[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?"}

#: examples of values shown in a hint
EXAMPLES = 5


def hint(reason: str, table: str, col: str, values: list[Any], src: SourceSpec | None,
          open_list: bool = False) -> str:
    """What the user can do about ``reason`` in ``table.col``, given the values at fault."""
    texts = [str(v) for v in values if v is not None]
    if reason == "unparseable_date":
        return date_hint(table, texts, src.date_format if src else None)
    if reason == "unparseable_number":
        hint = ("a number may carry thousands separators (1,200 or 1，200) but no currency "
                "sign, unit or word: take them out of the values")
        if any(u in t for t in texts for u in ("万", "亿", "千")):
            hint += (f"; for amounts in 万元 keep the bare number and scale the column: "
                     f"sources.{table}.units: {{{col}: 10000}}")
        if any(t.endswith("%") for t in texts):
            hint += "; write percentages without the sign (12.5, not 12.5%)"
        if any(re.fullmatch(COMMA_DECIMAL, t.strip()) for t in texts):
            hint += (f"; if the comma is this file's decimal separator (1810,67), say so: "
                     f"sources.{table}.decimal: \",\"")
        return hint
    if reason == "unparseable_bool":
        return "write true/false, yes/no, y/n, 1/0 or 是/否"
    if reason == "missing_value":
        hint = f"every {table} row needs {col}: fill it in"
        if col not in UNIQUE_ID.values() and col != "customer_id":
            hint += (f", or give every row the same value: sources.{table}.constants: "
                     f"{{{col}: ...}}")
        return hint
    if reason == "duplicate_id":
        return "the first row with each id (in file order) is kept: remove the repeats or " \
               "give them ids of their own"
    if reason == "orphan":
        return ("add these customers to customers, or write their ids the same way in both "
                "tables (leading zeros, spaces); a customer set aside in customers leaves its "
                "rows here orphaned too")
    if reason == "negative_amount":
        return ("only refunds may be negative: give these orders the status refunded (map your "
                "own word for it with sources.orders.values: {status: {<your word>: refunded}})")
    if reason == "out_of_range":
        spec = TABLE[table].column(col)
        if spec.valid:
            lo, hi = spec.valid
            return f"{col} is a {lo:g}-{hi:g} rating: rescale the column or leave it empty"
        if spec.valid_by:
            by, scales = spec.valid_by
            ranges = ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in scales.items())
            return (f"the {col} must be on the scale of its {by} ({ranges}): check the {by} "
                    f"(map it with sources.{table}.values: {{{by}: {{...}}}}) or rescale the "
                    f"{col}")
        return ""
    if reason == "unknown_value":
        shown = texts[:EXAMPLES]
        mapping = ", ".join(f"{yaml_word(t)}: ?" for t in shown)
        if open_list:
            usual = USUAL_VALUES[table][col]
            return (f"if these are kinds a metric should count, map them in the model: "
                    f"sources.{table}.values: {{{col}: {{{mapping}}}}}, ? a kind your metrics "
                    f"count (usual kinds: {', '.join(usual)})")
        allowed = VOCABULARIES[table][col]
        return (f"map them in the model: sources.{table}.values: {{{col}: {{{mapping}}}}}, "
                f"? one of {', '.join(allowed)}")
    return ""


def yaml_word(text: str) -> str:
    """``text`` as a YAML mapping key a user can paste (quoted when YAML would misread it)."""
    plain = text and all(c.isalnum() or c in "_- " for c in text) and text == text.strip()
    if plain and not text[0].isdigit() and text.lower() not in ("yes", "no", "true", "false",
                                                                "null", "on", "off", "y", "n"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: layouts a date column may be written in, tried on the unreadable values to suggest one
GUESS_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%d/%m/%y",
                 "%m/%d/%y", "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日",
                 "%d %b %Y", "%b %d, %Y", "%d-%b-%Y")


def excel_day(text: str) -> dt.date | None:
    """The day an Excel serial day number names (``45123`` is 2023-07-16), else None."""
    try:
        serial = float(text.strip())
    except ValueError:
        return None
    if not 1 <= serial <= 2958465 or not text.strip().replace(".", "", 1).isdigit():
        return None
    return dt.date(1899, 12, 30) + dt.timedelta(days=int(serial))


def date_hint(table: str, texts: list[str], given: str | None) -> str:
    days = [excel_day(t) for t in texts]
    if given == EXCEL_SERIAL:
        return (f"sources.{table}.date_format is excel, and these are not Excel serial day "
                "numbers (1 to 2958465): fix the values, or name their layout instead")
    if texts and all(days):
        return (f"these look like Excel serial day numbers ({texts[0]} is {days[0]}): read them "
                f"as such in the model: sources.{table}.date_format: excel, or format the column "
                "as a date in Excel before saving")
    guesses = guess_formats(texts)
    if given:
        hint = f"these do not match sources.{table}.date_format \"{given}\""
        if guesses:
            hint += " but read as " + " or ".join(f'"{g}"' for g in guesses[:2])
        return hint + "; fix the values or the format"
    if len(guesses) > 1:
        return (f"name their layout in the model: sources.{table}.date_format: "
                + " or ".join(f'"{g}"' for g in guesses[:2])
                + " (both read these values: is the day or the month first?)")
    if guesses:
        return f"name their layout in the model: sources.{table}.date_format: \"{guesses[0]}\""
    return (f"write dates as YYYY-MM-DD, or name their layout in the model: "
            f"sources.{table}.date_format: \"%Y/%m/%d\" (strptime codes: %Y year, %m month, "
            f"%d day, %H:%M:%S time)")


def guess_formats(texts: list[str]) -> list[str]:
    """The layouts (with or without a time) that read every one of ``texts``."""
    if not texts:
        return []
    fits = []
    for base in GUESS_FORMATS:
        for fmt in (base, base + " %H:%M:%S", base + " %H:%M"):
            try:
                for t in texts:
                    dt.datetime.strptime(t.strip(), fmt)
            except ValueError:
                continue
            fits.append(fmt)
            break
    return fits
