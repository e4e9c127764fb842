"""crindex: a Customer Relationship Index (客户关系指数) engine.

One explainable 0-100 score per customer from CRM data, declared as a YAML model and run on
embedded DuckDB through Ibis.
"""

__version__ = "0.1.0"
