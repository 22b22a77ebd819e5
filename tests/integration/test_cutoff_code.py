"""Copy as code with a cut, against the real Weaviate with the demo data and the Jina stand-in: the script asks for
limit=N with rerank, cuts in the client, and prints exactly the documents the page keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_playground import codegen
from rerank_playground.evaluation.cutoff import Cut, short_between
from rerank_playground.outcomes import RerankRun
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.search import needs_query_vector
from testkit.jina_stand_in import JinaStandIn
from tests.integration.test_present import JINA, LOCAL, _run_code, demo, pg, views  # noqa: F401 - fixtures

pytestmark = pytest.mark.weaviate


def cuts_for(run: RerankRun) -> list[Cut]:
    """A threshold between the page's 3rd and 4th distinct scores, top 4, and a relative cut just below the
    list's largest drop: each keeps some documents and leaves some out."""
    scores = [d.score for d in run.result.ranked]
    distinct = sorted(set(scores), reverse=True)
    assert len(distinct) >= 5
    span = max(scores) - min(scores)
    drops = [round((a - b) / span, 12) for a, b in zip(scores, scores[1:], strict=False)]
    largest = max(drops)
    below = max([d for d in drops if d < largest], default=0.0)
    return [Cut("threshold", short_between(distinct[3], distinct[2])), Cut("top_k", 4),
            Cut("relative", short_between(below, largest))]


@pytest.mark.parametrize("choice", [LOCAL, JINA], ids=["local", "jina"])
def test_copied_code_with_a_cut_returns_exactly_the_kept_documents(
    pg: Playground, jina_stand_in: JinaStandIn, tmp_path: Path, choice: RerankChoice  # noqa: F811
) -> None:
    view = views()[0]
    for _ in range(5):
        search = pg.search(view.request)
        run = pg.rerank(search, choice, view.top_n)
        request = search.request
        reranked = [search.hits[d.index].uuid for d in run.result.ranked]
        checked = []
        for cut in cuts_for(run):
            kept = cut.kept([d.score for d in run.result.ranked])
            assert 0 < kept < len(reranked), cut
            code = codegen.python_code(
                request, choice, weaviate_url=pg.spec.url, grpc_port=pg.spec.grpc_target[1],
                needs_query_vector=needs_query_vector(request, pg.collection(request.collection)),
                jina_base_url=pg.jina_base_url, cut=cut,
            )
            assert f"limit={request.limit}" in code and "def kept(scores):" in code
            checked.append((cut, _run_code(code, tmp_path, pg, jina_stand_in), reranked[:kept]))
        if all(printed == shown for _, printed, shown in checked):
            break
        # BM25 statistics settle for a while after the demo import: only a change in the server's own answer
        # excuses a mismatch (then ask both again).
        now = pg.search(request, force=True)
        if [h.uuid for h in now.hits] == [h.uuid for h in search.hits]:
            break
    for cut, printed, shown in checked:
        assert printed == shown, cut
