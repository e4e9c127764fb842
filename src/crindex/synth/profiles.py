"""The three synthetic worlds: parameters only, no code.

A :class:`Profile` says how a hidden relationship health turns into observable behaviour in one
kind of business. Health is a number on a standard-normal-like scale (0 is an average customer,
+1 a clearly happy one, -1 an unhappy one); every rate below is given *at health 0* and moves
with ``exp(slope * health)`` (counts) or ``sigmoid(base + slope * health)`` (probabilities).
The simulation that uses these numbers lives in :mod:`crindex.synth.world`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Activity:
    """A stream of interactions whose monthly count follows health.

    Parameters
    ----------
    channel, kind
        Contract vocabulary of ``interactions.channel`` and ``interactions.kind``.
    rate
        Events per customer-month at health 0.
    slope
        Log-rate change per unit of health (positive: happier customers do more of it).
    value_median, value_sigma
        When set, ``interactions.value`` is drawn lognormal (e.g. minutes of use).
    """

    channel: str
    kind: str
    rate: float
    slope: float
    value_median: float | None = None
    value_sigma: float = 0.6


@dataclass(frozen=True)
class Category:
    """One value of a customer attribute with its share and its effect on behaviour.

    ``health`` shifts the customer's long-run health; ``value`` multiplies order rate and
    basket size (segments differ in value).
    """

    name: str
    share: float
    health: float = 0.0
    value: float = 1.0


@dataclass(frozen=True)
class LeadSource:
    """An acquisition channel: its share of new customers, lead conversion rate, cost per lead."""

    name: str
    share: float
    conversion: float
    cost_per_lead: float


@dataclass(frozen=True)
class Plan:
    """A SaaS plan: share of accounts, median MRR, share of accounts on annual terms."""

    name: str
    share: float
    mrr: float
    annual: float
    health: float = 0.0


@dataclass(frozen=True)
class Profile:
    """Every parameter of one synthetic world (see the module docstring for the scales)."""

    name: str
    code: int  # mixed into the RNG seed so profiles never share streams
    # population: share already customers at the start, their tenure (days)
    existing_share: float
    tenure_mean_days: float
    tenure_max_days: float
    # hidden health: mu_i ~ N(shift, mu_sd); x_t AR(1) with phi, sigma; mu drifts slowly
    mu_sd: float
    new_customer_shift: float  # new customers start less attached than survivors
    phi: float
    sigma: float
    drift_sd: float  # sd of a customer's monthly drift of mu
    # shocks (probabilities per customer-month unless said otherwise)
    competitor_p: float
    competitor_shock: float  # permanent fall of mu
    delight_p: float
    delight_shock: float
    price_rise_month: int  # month of the year (0 = first month of the period) prices rise
    price_rise_share: float  # share of customers who mind
    price_rise_shock: float
    bad_ticket_shock: float  # fall of health per badly handled support case
    # churn: monthly hazard = churn_base * exp(-churn_slope * health) / value ** churn_value
    churn_base: float
    churn_slope: float
    churn_value: float
    # orders
    order_rate: float  # median orders per customer-month at health 0
    order_rate_sd: float  # lognormal spread between customers
    order_slope: float
    basket: float  # median order amount
    basket_sd: float
    basket_slope: float
    product_lines: tuple[str, ...]
    cross_sell: float  # base logit of buying outside the customer's main line
    margin: tuple[float, float]  # cost = amount * U(margin)
    cancel_p: float
    refund_p: float
    # e-mail (sends are the company's; opens and clicks are the customer's)
    email_rate: float
    open_base: float
    open_slope: float
    open_sd: float  # spread of personal open propensity
    click_base: float
    click_slope: float
    # support
    ticket_rate: float
    ticket_slope: float  # negative: unhappy customers open more tickets
    bad_ticket_base: float
    bad_ticket_slope: float
    response_hours: float  # median hours to first response
    # surveys
    nps_rate: float  # NPS answers per customer-month at health 0
    nps_center: float
    nps_slope: float
    nps_noise: float
    csat_after_ticket: float
    ces_after_ticket: float
    activities: tuple[Activity, ...]
    regions: tuple[Category, ...]
    segments: tuple[Category, ...]
    lead_sources: tuple[LeadSource, ...]
    industries: tuple[Category, ...] = ()
    size_bands: tuple[tuple[str, float, float, float], ...] = ()  # name, share, employees, value
    owners: int = 0  # account managers; each has a quality that shifts health
    owner_quality_sd: float = 0.0
    plans: tuple[Plan, ...] = field(default=())
    renew_base: float = 0.0  # logit of renewing an annual term at health 0
    renew_slope: float = 0.0
    midterm_churn: float = 1.0  # hazard multiplier for annual-plan accounts between renewals


REGIONS_CONSUMER = (
    Category("north", 0.22), Category("south", 0.24), Category("east", 0.21),
    Category("west", 0.2), Category("central", 0.13),
)
REGIONS_BUSINESS = (
    Category("EMEA", 0.34), Category("North America", 0.33), Category("APAC", 0.23),
    Category("LATAM", 0.1),
)

ECOMMERCE = Profile(
    name="ecommerce", code=1,
    existing_share=0.6, tenure_mean_days=700, tenure_max_days=2900,
    mu_sd=0.9, new_customer_shift=-0.25, phi=0.88, sigma=0.32, drift_sd=0.03,
    competitor_p=0.006, competitor_shock=0.9, delight_p=0.02, delight_shock=0.4,
    price_rise_month=8, price_rise_share=0.3, price_rise_shock=0.45, bad_ticket_shock=0.55,
    churn_base=0.0068, churn_slope=1.5, churn_value=0.25,
    order_rate=0.34, order_rate_sd=0.55, order_slope=0.7,
    basket=64.0, basket_sd=0.45, basket_slope=0.1,
    product_lines=("apparel", "shoes", "beauty", "home", "electronics", "sports", "kids"),
    cross_sell=-1.2, margin=(0.45, 0.75), cancel_p=0.02, refund_p=0.035,
    email_rate=4.3, open_base=-0.85, open_slope=0.95, open_sd=0.45,
    click_base=-1.7, click_slope=0.6,
    ticket_rate=0.07, ticket_slope=-0.5, bad_ticket_base=-1.3, bad_ticket_slope=-1.0,
    response_hours=5.0,
    nps_rate=0.09, nps_center=7.1, nps_slope=2.0, nps_noise=1.4,
    csat_after_ticket=0.3, ces_after_ticket=0.0,
    activities=(
        Activity("web", "visit", 1.6, 0.55, value_median=6.0),
        Activity("app", "login", 0.7, 0.6, value_median=4.0),
        Activity("social", "like", 0.12, 0.7),
        Activity("social", "share", 0.03, 0.8),
    ),
    regions=REGIONS_CONSUMER,
    segments=(Category("standard", 0.78), Category("member", 0.22, health=0.3, value=1.6)),
    lead_sources=(
        LeadSource("search", 0.34, 0.22, 9.0), LeadSource("social", 0.26, 0.12, 5.5),
        LeadSource("referral", 0.14, 0.45, 4.0), LeadSource("email", 0.1, 0.3, 1.5),
        LeadSource("display", 0.16, 0.08, 3.0),
    ),
)

B2B = Profile(
    name="b2b", code=2,
    existing_share=0.65, tenure_mean_days=1100, tenure_max_days=4000,
    mu_sd=0.7, new_customer_shift=-0.2, phi=0.85, sigma=0.28, drift_sd=0.02,
    competitor_p=0.005, competitor_shock=0.8, delight_p=0.015, delight_shock=0.35,
    price_rise_month=0, price_rise_share=0.35, price_rise_shock=0.4, bad_ticket_shock=0.45,
    churn_base=0.006, churn_slope=1.3, churn_value=0.3,
    order_rate=0.45, order_rate_sd=0.7, order_slope=0.55,
    basket=1800.0, basket_sd=0.8, basket_slope=0.15,
    product_lines=("core", "analytics", "integration", "services", "training", "support_plus"),
    cross_sell=-1.0, margin=(0.35, 0.7), cancel_p=0.015, refund_p=0.015,
    email_rate=2.2, open_base=-0.6, open_slope=0.8, open_sd=0.4,
    click_base=-1.4, click_slope=0.6,
    ticket_rate=0.25, ticket_slope=-0.4, bad_ticket_base=-1.4, bad_ticket_slope=-0.9,
    response_hours=6.0,
    nps_rate=0.07, nps_center=7.2, nps_slope=1.9, nps_noise=1.3,
    csat_after_ticket=0.35, ces_after_ticket=0.2,
    activities=(
        Activity("phone", "call", 0.8, 0.35, value_median=18.0),
        Activity("visit", "visit", 0.15, 0.4, value_median=90.0),
        Activity("event", "event_attended", 0.07, 0.8),
        Activity("web", "content_downloaded", 0.3, 0.6),
        Activity("web", "visit", 1.2, 0.5, value_median=5.0),
    ),
    regions=REGIONS_BUSINESS,
    segments=(),  # derived from size band (SMB, Mid-Market, Enterprise)
    industries=(
        Category("manufacturing", 0.2, 0.05), Category("retail", 0.15, -0.1),
        Category("financial services", 0.14, 0.1, 1.3), Category("healthcare", 0.12, 0.0, 1.1),
        Category("technology", 0.18, -0.05, 1.2), Category("logistics", 0.1, -0.05),
        Category("public sector", 0.11, 0.15, 0.9),
    ),
    size_bands=(("small", 0.45, 25, 0.5), ("medium", 0.32, 180, 1.0),
                ("large", 0.17, 1200, 2.4), ("enterprise", 0.06, 9000, 6.0)),
    owners=24, owner_quality_sd=0.3,
    lead_sources=(
        LeadSource("outbound", 0.3, 0.06, 180.0), LeadSource("inbound", 0.28, 0.14, 120.0),
        LeadSource("partner", 0.17, 0.22, 150.0), LeadSource("events", 0.15, 0.1, 260.0),
        LeadSource("referral", 0.1, 0.3, 60.0),
    ),
)

SAAS = Profile(
    name="saas", code=3,
    existing_share=0.6, tenure_mean_days=650, tenure_max_days=2500,
    mu_sd=0.7, new_customer_shift=-0.3, phi=0.83, sigma=0.3, drift_sd=0.02,
    competitor_p=0.006, competitor_shock=0.85, delight_p=0.02, delight_shock=0.35,
    price_rise_month=3, price_rise_share=0.3, price_rise_shock=0.45, bad_ticket_shock=0.5,
    churn_base=0.008, churn_slope=1.4, churn_value=0.0,
    order_rate=0.04, order_rate_sd=0.6, order_slope=0.8,  # add-on purchases beside invoices
    basket=120.0, basket_sd=0.5, basket_slope=0.1,
    product_lines=("seats", "storage", "api_calls", "premium_support"),
    cross_sell=-0.5, margin=(0.1, 0.3), cancel_p=0.01, refund_p=0.01,
    email_rate=2.5, open_base=-0.7, open_slope=0.8, open_sd=0.4,
    click_base=-1.5, click_slope=0.6,
    ticket_rate=0.3, ticket_slope=-0.45, bad_ticket_base=-1.3, bad_ticket_slope=-0.9,
    response_hours=3.0,
    nps_rate=0.08, nps_center=7.0, nps_slope=2.0, nps_noise=1.4,
    csat_after_ticket=0.4, ces_after_ticket=0.25,
    activities=(
        Activity("app", "login", 9.0, 0.75, value_median=22.0),
        Activity("app", "feature_used", 14.0, 0.95),
        Activity("web", "content_downloaded", 0.15, 0.5),
        Activity("event", "event_attended", 0.03, 0.8),
    ),
    regions=REGIONS_BUSINESS,
    segments=(),  # the plan is the segment
    industries=(
        Category("technology", 0.3), Category("media", 0.12), Category("education", 0.1),
        Category("retail", 0.15), Category("professional services", 0.2),
        Category("healthcare", 0.13),
    ),
    size_bands=(("small", 0.55, 15, 0.7), ("medium", 0.3, 120, 1.0),
                ("large", 0.15, 800, 1.8)),
    owners=12, owner_quality_sd=0.25,
    plans=(Plan("starter", 0.5, 49.0, 0.25, -0.1), Plan("pro", 0.38, 249.0, 0.55),
           Plan("enterprise", 0.12, 1900.0, 0.9, 0.2)),
    renew_base=2.4, renew_slope=1.6, midterm_churn=0.12,
    lead_sources=(
        LeadSource("trial", 0.45, 0.18, 35.0), LeadSource("search", 0.25, 0.05, 22.0),
        LeadSource("content", 0.15, 0.04, 12.0), LeadSource("partner", 0.15, 0.2, 60.0),
    ),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (ECOMMERCE, B2B, SAAS)}
