"""Simulate one block of customers: hidden health, churn, and every observable event.

All arithmetic is vectorised over the customers of a block (and over their months); the only
Python loop runs over the months of the period. Times are integer seconds since the epoch.

The story of a customer
-----------------------
Health ``h = mu + x``: ``mu`` is the customer's long-run attachment (segment, industry, account
owner, a personal draw, slowly drifting) and ``x`` an AR(1) mood with shocks — a badly handled
support case, a price rise, a competitor's offer (a lasting fall of ``mu``), a delightful
surprise. Each month health sets the hazard of churning and the rates of everything seen:
orders and basket size, cross-selling, e-mail opens and clicks, logins and feature use, support
tickets and their satisfaction, survey answers and (SaaS) renewals and expansion. Nothing is
generated after a customer's ``churned_at`` or before their ``created_at``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crindex.synth.profiles import Profile

DAY = 86_400
YEAR = 365 * DAY
NEVER = np.iinfo(np.int64).max

#: the vocabularies written as dictionary-encoded columns (contract values)
CHANNELS = ("support", "email", "event", "social", "web", "app", "phone", "visit")
KINDS = ("email_sent", "email_opened", "email_clicked", "ticket_opened", "ticket_resolved",
         "login", "feature_used", "event_attended", "content_downloaded", "visit", "call",
         "like", "share")
STATUSES = ("paid", "refunded", "cancelled")
SURVEY_KINDS = ("nps", "csat", "ces")
SHOCKS = ("", "bad_support", "price_rise", "competitor", "delight")


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _choice(rng: np.random.Generator, shares: list[float], size: int) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(size), side="right").clip(
        0, len(p) - 1).astype(np.int16)


@dataclass
class Columns:
    """One table's block of rows as plain numpy columns (ids resolved later by the writer)."""

    data: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0


@dataclass
class Block:
    """Everything one block of customers produced."""

    first: int
    customers: Columns
    orders: Columns
    interactions: Columns
    surveys: Columns
    subscriptions: Columns | None
    leads: Columns
    truth: Columns | None
    churned: int


def created_times(index: np.ndarray, total: int, profile: Profile, t0: int,
                  t_end: int) -> np.ndarray:
    """Creation time of customers ``index`` (0-based) of ``total``: later ids joined later.

    The time is a deterministic quantile of the arrival distribution (a truncated exponential
    tenure before ``t0`` for the existing base, uniform arrivals during the period), so ids run
    in order of creation whatever the block.
    """
    u = (index + 0.5) / total
    share = profile.existing_share
    out = np.empty(len(index), dtype=np.int64)
    old = u < share
    v = u[old] / share  # 0 = oldest
    m, a = profile.tenure_mean_days, profile.tenure_max_days
    age_days = -m * np.log1p(-(1.0 - v) * (1.0 - np.exp(-a / m)))
    out[old] = t0 - np.ceil(age_days * DAY).astype(np.int64)
    w = (u[~old] - share) / (1.0 - share)
    out[~old] = t0 + np.floor(w * (t_end - t0)).astype(np.int64)
    return out


def _expand(counts: np.ndarray, start: np.ndarray, dur: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rows for per-(customer, month) ``counts``: their flat cell index and a uniform time."""
    flat = np.repeat(np.arange(counts.size, dtype=np.int64), counts.ravel())
    ts = start.ravel()[flat] + (rng.random(len(flat)) * dur.ravel()[flat]).astype(np.int64)
    return flat, ts


class BlockSimulator:
    """Simulate customers ``first .. first + count - 1`` of a world of ``total``.

    Parameters
    ----------
    profile
        The world's parameters.
    grid
        Month boundaries of the period, ``months + 1`` epoch seconds.
    owner_quality
        Health shift of each account owner (shared by every block).
    """

    def __init__(self, profile: Profile, grid: np.ndarray, total: int,
                 owner_quality: np.ndarray, truth: bool) -> None:
        self.p = profile
        self.grid = grid
        self.total = total
        self.owner_quality = owner_quality
        self.truth = truth

    # -- customers ---------------------------------------------------------------------------
    def _attributes(self, rng: np.random.Generator, idx: np.ndarray) -> dict[str, np.ndarray]:
        p, n = self.p, len(idx)
        t0, t_end = int(self.grid[0]), int(self.grid[-1])
        a: dict[str, np.ndarray] = {"created": created_times(idx, self.total, p, t0, t_end)}
        a["region"] = _choice(rng, [c.share for c in p.regions], n)
        value = np.ones(n)
        mu = rng.normal(0.0, p.mu_sd, n)
        if p.segments:
            a["segment"] = _choice(rng, [c.share for c in p.segments], n)
            value *= np.array([c.value for c in p.segments])[a["segment"]]
            mu += np.array([c.health for c in p.segments])[a["segment"]]
        if p.industries:
            a["industry"] = _choice(rng, [c.share for c in p.industries], n)
            value *= np.array([c.value for c in p.industries])[a["industry"]]
            mu += np.array([c.health for c in p.industries])[a["industry"]]
        if p.size_bands:
            band = _choice(rng, [b[1] for b in p.size_bands], n)
            a["size_band"] = band
            medians = np.array([b[2] for b in p.size_bands], dtype=float)
            a["employees"] = np.maximum(
                1, np.round(medians[band] * rng.lognormal(0.0, 0.45, n))).astype(float)
            value *= np.array([b[3] for b in p.size_bands])[band]
        if p.owners:
            a["owner"] = rng.integers(0, p.owners, n).astype(np.int16)
            mu += self.owner_quality[a["owner"]]
        if p.plans:
            plan = _choice(rng, [pl.share for pl in p.plans], n)
            a["plan"] = plan
            mu += np.array([pl.health for pl in p.plans])[plan]
            a["annual"] = rng.random(n) < np.array([pl.annual for pl in p.plans])[plan]
            a["mrr"] = np.round(np.array([pl.mrr for pl in p.plans])[plan]
                                * rng.lognormal(0.0, 0.3, n) * value ** 0.5, 2)
            a["bill_offset"] = rng.integers(0, 28 * DAY, n)
        mu += np.where(a["created"] >= t0, p.new_customer_shift, 0.0)
        a["mu"] = mu
        a["value"] = value
        a["order_rate"] = p.order_rate * rng.lognormal(0.0, p.order_rate_sd, n) * value ** 0.4
        a["basket"] = p.basket * rng.lognormal(0.0, p.basket_sd, n) * value ** 0.6
        a["open_offset"] = rng.normal(0.0, p.open_sd, n)
        a["drift"] = rng.normal(0.0, p.drift_sd, n)
        line_w = 1.0 / np.arange(1, len(p.product_lines) + 1)
        a["main_line"] = _choice(rng, list(line_w), n)
        return a

    # -- the monthly health walk -------------------------------------------------------------
    def _walk(self, rng: np.random.Generator, a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        p, grid = self.p, self.grid
        n, months = len(a["created"]), len(grid) - 1
        created = a["created"]
        mu = a["mu"].copy()
        x = rng.normal(0.0, p.sigma / np.sqrt(1.0 - p.phi ** 2), n)
        churn_at = np.full(n, NEVER, dtype=np.int64)
        health = np.zeros((n, months), dtype=np.float32)
        start = np.zeros((n, months), dtype=np.int64)
        end = np.zeros((n, months), dtype=np.int64)
        tickets = np.zeros((n, months), dtype=np.int64)
        bad = np.zeros((n, months), dtype=np.int64)
        shock = np.zeros((n, months), dtype=np.int8)
        value_factor = a["value"] ** -p.churn_value
        annual = a.get("annual")
        if annual is not None:
            value_factor = np.where(annual, value_factor * p.midterm_churn, value_factor)
        for m in range(months):
            ms, me = int(grid[m]), int(grid[m + 1])
            a0 = np.maximum(created, ms)
            alive = (a0 < me) & (churn_at > ms)
            hit = alive & (rng.random(n) < p.competitor_p)
            mu -= hit * p.competitor_shock
            x -= hit * (0.5 * p.competitor_shock)
            shock[hit, m] = 3
            hit = alive & (rng.random(n) < p.delight_p)
            x += hit * p.delight_shock
            shock[hit, m] = 4
            if m % 12 == p.price_rise_month:
                hit = alive & (rng.random(n) < p.price_rise_share)
                x -= hit * p.price_rise_shock
                shock[hit, m] = 2
            h = mu + x
            hazard = p.churn_base * np.exp(-p.churn_slope * h) * value_factor
            frac = np.clip((me - a0) / (me - ms), 0.0, 1.0)
            gone = alive & (rng.random(n) < -np.expm1(-hazard * frac))
            when = a0 + (rng.random(n) * (me - a0)).astype(np.int64)
            churn_at = np.where(gone, when, churn_at)
            if annual is not None:
                # an annual term ends on each anniversary: renew, or leave on that day
                k = np.maximum(np.ceil((ms - created) / YEAR), 1).astype(np.int64)
                anniversary = created + k * YEAR
                due = annual & alive & (anniversary < me) & (anniversary < churn_at)
                renew = sigmoid(p.renew_base + p.renew_slope * h)
                leave = due & (rng.random(n) >= renew)
                churn_at = np.where(leave, anniversary, churn_at)
            a1 = np.minimum(me, churn_at)
            start[:, m] = a0
            end[:, m] = np.where(alive, np.maximum(a1, a0), a0)
            health[:, m] = h
            dur = (end[:, m] - a0) / (me - ms)
            tickets[:, m] = rng.poisson(p.ticket_rate * np.exp(p.ticket_slope * h) * dur)
            bad[:, m] = rng.binomial(tickets[:, m],
                                     sigmoid(p.bad_ticket_base + p.bad_ticket_slope * h))
            shock[bad[:, m] > 0, m] = 1
            x = p.phi * x + rng.normal(0.0, p.sigma, n) - p.bad_ticket_shock * bad[:, m]
            mu += a["drift"]
        dur = end - start
        month_len = np.diff(grid).astype(np.float64)
        return {"health": health, "start": start, "dur": dur, "frac": dur / month_len,
                "tickets": tickets, "bad": bad, "shock": shock, "churn_at": churn_at}

    # -- events ------------------------------------------------------------------------------
    def _orders(self, rng: np.random.Generator, a: dict[str, np.ndarray],
                w: dict[str, np.ndarray], limit: np.ndarray) -> Columns:
        p, months = self.p, w["health"].shape[1]
        h = w["health"]
        lam = a["order_rate"][:, None] * np.exp(p.order_slope * h) * w["frac"]
        flat, ts = _expand(rng.poisson(lam), w["start"], w["dur"], rng)
        cust = flat // months
        hh = h.ravel()[flat].astype(np.float64)
        n = len(flat)
        amount = np.maximum(1.0, np.round(a["basket"][cust] * np.exp(p.basket_slope * hh)
                                          * rng.lognormal(0.0, 0.35, n), 2))
        lines = len(p.product_lines)
        other = (a["main_line"][cust] + rng.integers(1, lines, n)) % lines
        cross = rng.random(n) < sigmoid(p.cross_sell + 0.8 * hh)
        line = np.where(cross, other, a["main_line"][cust]).astype(np.int16)
        cost = np.round(amount * rng.uniform(*p.margin, n), 2)
        status = np.where(rng.random(n) < p.cancel_p, 2, 0).astype(np.int8)
        # returns: a later row with a negative amount, more likely from unhappy customers
        ret = (status == 0) & (rng.random(n) < p.refund_p * np.exp(-0.5 * hh))
        share = np.where(rng.random(n) < 0.7, 1.0, rng.uniform(0.2, 0.9, n))
        ret_ts = ts + rng.integers(DAY, 21 * DAY, n)
        ret &= ret_ts < limit[cust]
        cols = {"cust": cust, "ts": ts, "amount": amount, "cost": cost,
                "line": line, "status": status}
        parts = [cols]
        if a.get("plan") is not None:
            parts.append(self._invoices(rng, a, w, limit))
        r = np.flatnonzero(ret)
        parts.append({"cust": cust[r], "ts": ret_ts[r],
                      "amount": -np.round(amount[r] * share[r], 2),
                      "cost": -np.round(cost[r] * share[r], 2), "line": line[r],
                      "status": np.ones(len(r), dtype=np.int8)})
        return Columns({k: np.concatenate([part[k] for part in parts]) for k in cols})

    def _invoices(self, rng: np.random.Generator, a: dict[str, np.ndarray],
                  w: dict[str, np.ndarray], limit: np.ndarray) -> dict[str, np.ndarray]:
        """SaaS invoices: monthly plans each month, annual plans at each term start."""
        p, grid = self.p, self.grid
        n, months = w["health"].shape
        bill = np.maximum(w["start"], grid[:-1][None, :] + a["bill_offset"][:, None])
        monthly = (~a["annual"])[:, None] & (bill < w["start"] + w["dur"])
        c, m = np.nonzero(monthly)
        terms = self._terms(a, w, limit)
        in_period = (terms["start"] >= grid[0]) & (terms["start"] < limit[terms["cust"]])
        tc = terms["cust"][in_period]
        cust = np.concatenate([c, tc])
        amount = np.concatenate([a["mrr"][c], 12 * terms["mrr"][in_period]])
        ts = np.concatenate([bill[c, m], terms["start"][in_period]])
        k = len(cust)
        return {"cust": cust, "ts": ts, "amount": np.round(amount, 2),
                "cost": np.round(amount * rng.uniform(*p.margin, k), 2),
                # invoices are for the plan: its name follows the product lines' names
                "line": (len(p.product_lines) + a["plan"][cust]).astype(np.int16),
                "status": np.zeros(k, dtype=np.int8)}

    def _terms(self, a: dict[str, np.ndarray], w: dict[str, np.ndarray],
               limit: np.ndarray) -> dict[str, np.ndarray]:
        """Annual-plan contract terms since each account's creation (expansion at renewals)."""
        if "terms" in w:
            return w["terms"]  # type: ignore[return-value]
        grid = self.grid
        annual = np.flatnonzero(a["annual"])
        created = a["created"][annual]
        n_terms = (limit[annual] - created - 1) // YEAR + 1
        cust = np.repeat(annual, n_terms)
        k = np.arange(len(cust)) - np.repeat(np.cumsum(n_terms) - n_terms, n_terms)
        start = a["created"][cust] + k * YEAR
        month = np.searchsorted(grid, start, side="right") - 1
        inside = (month >= 0) & (month < len(grid) - 1)
        h = np.where(inside, w["health"][cust, month.clip(0, len(grid) - 2)], 0.0)
        growth = np.where(k > 0, np.clip(1.06 + 0.07 * h, 0.85, 1.3), 1.0)
        # cumulative product of growth within each account's run of terms
        log_g = np.cumsum(np.log(growth))
        first = np.repeat(np.cumsum(n_terms) - n_terms, n_terms)
        base_log = np.where(first > 0, log_g[np.maximum(first - 1, 0)], 0.0)
        mrr = np.round(a["mrr"][cust] * np.exp(log_g - base_log), 2)
        end = start + YEAR
        lim = limit[cust]
        ended = np.where(end < lim, end, np.where(lim < grid[-1], lim, NEVER))
        terms = {"cust": cust, "start": start, "end": ended, "renewed": k > 0, "mrr": mrr}
        w["terms"] = terms  # type: ignore[assignment]
        return terms

    def _interactions(self, rng: np.random.Generator, a: dict[str, np.ndarray],
                      w: dict[str, np.ndarray], limit: np.ndarray) -> tuple[Columns, dict]:
        p, months = self.p, w["health"].shape[1]
        h, start, dur, frac = w["health"], w["start"], w["dur"], w["frac"]
        parts: list[dict[str, np.ndarray]] = []

        def add(cust: np.ndarray, ts: np.ndarray, channel: str, kind: str,
                value: np.ndarray | None = None, sat: np.ndarray | None = None) -> None:
            k = len(cust)
            nan = np.full(k, np.nan)
            parts.append({"cust": cust, "ts": ts,
                          "channel": np.full(k, CHANNELS.index(channel), dtype=np.int8),
                          "kind": np.full(k, KINDS.index(kind), dtype=np.int8),
                          "value": nan if value is None else value,
                          "satisfaction": nan if sat is None else sat})

        # e-mail: the company sends; opens and clicks follow the customer's health
        flat, ts = _expand(rng.poisson(p.email_rate * frac), start, dur, rng)
        cust = flat // months
        add(cust, ts, "email", "email_sent")
        hh = h.ravel()[flat]
        opened = rng.random(len(flat)) < sigmoid(p.open_base + p.open_slope * hh
                                                 + a["open_offset"][cust])
        o_ts = ts + rng.exponential(8 * 3600, len(flat)).astype(np.int64)
        opened &= o_ts < limit[cust]
        o = np.flatnonzero(opened)
        add(cust[o], o_ts[o], "email", "email_opened")
        clicked = rng.random(len(o)) < sigmoid(p.click_base + p.click_slope * hh[o])
        c_ts = o_ts[o] + rng.exponential(600, len(o)).astype(np.int64)
        c = np.flatnonzero(clicked & (c_ts < limit[cust[o]]))
        add(cust[o][c], c_ts[c], "email", "email_clicked")

        # support: tickets were drawn in the walk (bad ones hurt health); here they get times
        counts = w["tickets"]
        flat, ts = _expand(counts, start, dur, rng)
        cust = flat // months
        first_of_cell = np.repeat(np.cumsum(counts.ravel()) - counts.ravel(), counts.ravel())
        is_bad = (np.arange(len(flat)) - first_of_cell) < w["bad"].ravel()[flat]
        hh = h.ravel()[flat].astype(np.float64)
        k = len(flat)
        add(cust, ts, "support", "ticket_opened")
        response = rng.lognormal(np.log(p.response_hours), 0.8, k) * np.where(is_bad, 3.0, 1.0)
        resolved_ts = ts + ((response + rng.lognormal(np.log(20.0), 0.9, k)) * 3600).astype(
            np.int64)
        good_score = np.clip(np.round(4.1 + 0.6 * hh + rng.normal(0.0, 0.6, k)), 3, 5)
        sat = np.where(is_bad, rng.integers(1, 3, k), good_score).astype(np.float64)
        r = np.flatnonzero(resolved_ts < limit[cust])
        add(cust[r], resolved_ts[r], "support", "ticket_resolved",
            value=np.round(response[r], 2), sat=sat[r])
        tickets = {"cust": cust[r], "ts": resolved_ts[r], "sat": sat[r], "bad": is_bad[r],
                   "health": hh[r]}

        for act in p.activities:
            lam = act.rate * np.exp(act.slope * h) * frac
            flat, ts = _expand(rng.poisson(lam), start, dur, rng)
            value = None
            if act.value_median is not None:
                value = np.round(rng.lognormal(np.log(act.value_median), act.value_sigma,
                                               len(flat)), 1)
            add(flat // months, ts, act.channel, act.kind, value=value)
        cols = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
        return Columns(cols), tickets

    def _surveys(self, rng: np.random.Generator, w: dict[str, np.ndarray], tickets: dict,
                 limit: np.ndarray) -> Columns:
        p, months = self.p, w["health"].shape[1]
        flat, ts = _expand(rng.poisson(p.nps_rate * w["frac"]), w["start"], w["dur"], rng)
        hh = w["health"].ravel()[flat].astype(np.float64)
        nps = np.clip(np.round(p.nps_center + p.nps_slope * hh
                               + rng.normal(0.0, p.nps_noise, len(flat))), 0, 10)
        cust, when, kind, score = [flat // months], [ts], [np.zeros(len(flat), np.int8)], [nps]
        t_cust, t_ts = tickets["cust"], tickets["ts"]
        k = len(t_cust)
        answer_ts = t_ts + rng.exponential(DAY, k).astype(np.int64)
        ok = answer_ts < limit[t_cust]
        csat = ok & (rng.random(k) < p.csat_after_ticket)
        csat_score = np.clip(tickets["sat"] + rng.choice([-1.0, 0.0, 0.0, 1.0], k), 1, 5)
        ces = ok & (rng.random(k) < p.ces_after_ticket)
        ces_score = np.clip(np.round(3.2 - 1.0 * tickets["health"] + 1.5 * tickets["bad"]
                                     + rng.normal(0.0, 1.0, k)), 1, 7)
        for mask, code, values in ((csat, 1, csat_score), (ces, 2, ces_score)):
            i = np.flatnonzero(mask)
            cust.append(t_cust[i])
            when.append(answer_ts[i])
            kind.append(np.full(len(i), code, np.int8))
            score.append(values[i])
        return Columns({"cust": np.concatenate(cust), "ts": np.concatenate(when),
                        "kind": np.concatenate(kind), "score": np.concatenate(score)})

    def _leads(self, rng: np.random.Generator, a: dict[str, np.ndarray]) -> Columns:
        """One converted lead per customer acquired in the period, plus the ones that did not."""
        p, grid = self.p, self.grid
        new = np.flatnonzero(a["created"] >= grid[0])
        n = len(new)
        source = _choice(rng, [s.share for s in p.lead_sources], n)
        conv = np.array([s.conversion for s in p.lead_sources])[source]
        created = a["created"][new]
        lead_ts = created - rng.exponential(12 * DAY, n).astype(np.int64)
        # a lead from before the period is moved into it (leads cover the period only)
        early = lead_ts < grid[0]
        lead_ts[early] = grid[0] + (rng.random(int(early.sum()))
                                    * (created[early] - grid[0])).astype(np.int64)
        lost = rng.poisson((1.0 - conv) / conv)
        owner = np.repeat(np.arange(n), lost)
        lost_ts = np.clip(lead_ts[owner] + rng.normal(0.0, 20 * DAY, len(owner)).astype(np.int64),
                          grid[0], grid[-1] - 1)
        return Columns({
            "ts": np.concatenate([lead_ts, lost_ts]),
            "source": np.concatenate([source, source[owner]]),
            "cust": np.concatenate([new, np.full(len(owner), -1)]),
        })

    # -- the whole block ---------------------------------------------------------------------
    def run(self, rng: np.random.Generator, first: int, count: int) -> Block:
        """Simulate the block; ``rng`` must be the block's own stream."""
        p = self.p
        idx = np.arange(first, first + count, dtype=np.int64)
        a = self._attributes(rng, idx)
        w = self._walk(rng, a)
        limit = np.minimum(w["churn_at"], self.grid[-1])
        orders = self._orders(rng, a, w, limit)
        interactions, tickets = self._interactions(rng, a, w, limit)
        surveys = self._surveys(rng, w, tickets, limit)
        subscriptions = None
        if p.plans:
            subscriptions = self._subscriptions(a, w, limit)
        leads = self._leads(rng, a)
        churn = w["churn_at"]
        cust_cols = {"created": a["created"], "churn": churn, "region": a["region"]}
        for key in ("segment", "industry", "size_band", "employees", "owner", "plan"):
            if key in a:
                cust_cols[key] = a[key]
        truth = None
        if self.truth:
            alive = w["dur"] > 0
            c, m = np.nonzero(alive)
            truth = Columns({"cust": c, "month": m, "health": w["health"][c, m],
                             "shock": w["shock"][c, m]})
        return Block(first, Columns(cust_cols), orders, interactions, surveys, subscriptions,
                     leads, truth, int((churn != NEVER).sum()))

    def _subscriptions(self, a: dict[str, np.ndarray], w: dict[str, np.ndarray],
                       limit: np.ndarray) -> Columns:
        terms = self._terms(a, w, limit)
        monthly = np.flatnonzero(~a["annual"])
        lim = limit[monthly]
        ended = np.where(lim < self.grid[-1], lim, NEVER)
        cust = np.concatenate([terms["cust"], monthly])
        order = np.argsort(cust, kind="stable")
        return Columns({
            "cust": cust[order],
            "start": np.concatenate([terms["start"], a["created"][monthly]])[order],
            "end": np.concatenate([terms["end"], ended])[order],
            "renewed": np.concatenate([terms["renewed"], np.zeros(len(monthly), bool)])[order],
            "mrr": np.concatenate([terms["mrr"], a["mrr"][monthly]])[order],
        })
