"""The evaluation wing: judgments, query sets, metrics and the store they live in (issues 13 and 14).

- ``models``   frozen dataclasses (Judgment, SetQuery, QuerySet, QueryMetrics) and ``normalise_query``
- ``store``    SQLite / PostgreSQL through SQLAlchemy Core; ``open_store``; versioned schema (``migrations/``)
- ``metrics``  per-query and per-run metrics through ir-measures
- ``pooling``  ``judge_queue``: which unjudged documents to judge first
- ``io``       CSV / JSON / TREC import and export, all or nothing
- ``demo_sets`` the demo's judged query sets, loaded by ``make demo``

Never imports streamlit.
"""
