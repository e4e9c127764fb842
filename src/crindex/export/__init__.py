"""``crindex export``: write the latest scores back where people work (database, CRM, webhook).

See :mod:`crindex.export.core` and docs/export.md.
"""
