"""The evaluation wing: judgments, query sets, batch runs, metrics, significance, reports (issues 13 and 14).

- ``models``    frozen dataclasses (Judgment, SetQuery, QuerySet, QueryMetrics) and ``normalise_query``
- ``runs``      what a batch run is (``RunRecord``, ``QueryResult``); the store keeps them (``store/runs.py``)
- ``metrics``   per-query and per-run metrics through ir-measures
- ``pooling``   ``judge_queue``: which unjudged documents to judge first
- ``io``        CSV / JSON / TREC import and export, all or nothing
- ``demo_sets`` the demo's judged query sets, loaded by ``make demo``

Persistence lives in ``rerank_playground.store``. Never imports streamlit.
"""
