"""Copy as code: a runnable weaviate-client script that reproduces one view's search and rerank.

The script prints the uuids in reranked order, best first (the order the page shows). Keys are read from the
environment (``WEAVIATE_API_KEY``, ``JINAAI_APIKEY``), never written into the script: every value that comes
from the page goes in through ``repr`` of a plain str / int / float, so nothing typed can break out of it.
"""

from __future__ import annotations

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.filters import filter_source
from rerank_playground.jina_http import resolve_base_url
from rerank_playground.models import Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.rerankers import get_provider
from rerank_playground.rerankers.choice import RerankChoice

_HEADER = '''"""Reproduces a Rerank Playground view: {what}.

Run it as is: python this_file.py  (pip install weaviate-client{extra_pip})
Keys come from the environment, never from this file: {keys}.
"""

import os
from urllib.parse import urlparse

import weaviate
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.classes.query import BM25Operator, HybridFusion, MetadataQuery, Rerank

WEAVIATE_URL = os.environ.get("WEAVIATE_URL", {url!r})
WEAVIATE_GRPC_PORT = int(os.environ.get("WEAVIATE_GRPC_PORT", {grpc_port!r}))
COLLECTION = {collection!r}
QUERY = {query!r}
TEXT_PROPERTY = {text_property!r}
'''

_CONNECT = '''

def connect() -> weaviate.WeaviateClient:
    url = urlparse(WEAVIATE_URL)
    secure = url.scheme == "https"
    api_key = os.environ.get("WEAVIATE_API_KEY")
    headers = {{"X-JinaAI-Api-Key": os.environ["JINAAI_APIKEY"]}} if {module_header} else None
    return weaviate.connect_to_custom(
        http_host=url.hostname, http_port=url.port or (443 if secure else 80), http_secure=secure,
        grpc_host=url.hostname, grpc_port=WEAVIATE_GRPC_PORT, grpc_secure=secure,
        auth_credentials=Auth.api_key(api_key) if api_key else None, headers=headers,
        additional_config=AdditionalConfig(timeout=Timeout(init=10, query=60)), skip_init_checks=True,
    )
'''

_LOCAL_EMBED = '''

def local_embed(texts):
    """WordLlama (256 dimensions), fully offline: the bundled tokenizer file is copied where load() looks."""
    import shutil
    from pathlib import Path

    import numpy as np
    import wordllama
    from wordllama import WordLlama

    cache = Path.home() / ".cache" / "rerank-playground" / "wordllama"
    target = cache / "tokenizers" / "l2_supercat_tokenizer_config.json"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(wordllama.__file__).parent / "tokenizers" / target.name, target)
    model = WordLlama.load(cache_dir=cache, disable_download=True)
    vectors = np.asarray(model.embed([t or "" for t in texts], norm=False), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
'''

_JINA_EMBED = '''

def jina_query_vector(text):
    import httpx

    reply = httpx.post(
        JINA_BASE_URL + "/v1/embeddings",
        headers={{"Authorization": "Bearer " + os.environ["JINAAI_APIKEY"], "Accept": "application/json"}},
        json={{"model": {model!r}, "input": [text], "task": "retrieval.query"}},
        timeout=30,
    )
    reply.raise_for_status()
    return reply.json()["data"][0]["embedding"]
'''

_TEXT_OF = '''

def text_of(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "; ".join(text_of(v) for v in value if v is not None)
    return str(value)
'''




_CUT_RULES = {
    "top_k": '''

def kept(scores):
    """Rerank N, return k: the first {k} of the reranked list."""
    return min({k}, len(scores))
''',
    "threshold": '''

def kept(scores):
    """From the top while the rerank score is >= {value!r} (a tie at the threshold is kept)."""
    keep = 0
    for score in scores:
        if score is None or score < {value!r}:
            break
        keep += 1
    return keep
''',
    "relative": '''

def kept(scores):
    """Stop at the first drop between neighbours larger than {value!r} of the list's score range."""
    if len(scores) < 2 or max(scores) == min(scores):
        return len(scores)
    low, span = min(scores), max(scores) - min(scores)
    scaled = [(s - low) / span for s in scores]
    for i in range(len(scaled) - 1):
        if round(scaled[i] - scaled[i + 1], 12) > {value!r}:
            return i + 1
    return len(scores)
''',
}


def _cut_source(cut: Cut, candidates: int) -> str:
    rule = f"{cut.label} (after reranking N = {candidates})"
    head = f"\nimport sys\n\nCUT_RULE = {rule!r}  # chosen in Rerank Playground from judgments\n"
    return head + _CUT_RULES[cut.kind].format(k=int(cut.value), value=float(cut.value))


def _search_call(request: SearchRequest, vector_expr: str | None, rerank: bool) -> str:
    common = "limit={limit}, return_metadata=MetadataQuery(score=True, distance=True){filters}{rerank}".format(
        limit=request.limit, rerank=", rerank=Rerank(prop=TEXT_PROPERTY, query=QUERY)" if rerank else "",
        filters=", filters=FILTERS" if request.filters else "",
    )
    props = repr(list(request.properties)) if request.properties else "None"
    target = f", target_vector={request.target_vector!r}" if request.target_vector else ""
    if request.mode == SearchMode.KEYWORD:
        operator = "BM25Operator.and_()" if request.operator == Operator.AND else "BM25Operator.or_(minimum_match=1)"
        return f"collection.query.bm25(query=QUERY, query_properties={props}, operator={operator}, {common})"
    if request.mode == SearchMode.VECTOR:
        if vector_expr is None:
            return f"collection.query.near_text(query=QUERY{target}, {common})"
        return f"collection.query.near_vector(near_vector={vector_expr}{target}, {common})"
    fusion = "HybridFusion.RELATIVE_SCORE" if request.fusion == Fusion.RELATIVE_SCORE else "HybridFusion.RANKED"
    operator = ", bm25_operator=BM25Operator.and_()" if request.operator == Operator.AND else ""
    return (
        f"collection.query.hybrid(query=QUERY, alpha={float(request.alpha)!r}, vector={vector_expr or 'None'}, "
        f"query_properties={props}, fusion_type={fusion}{target}{operator}, {common})"
    )


def python_code(
    request: SearchRequest,
    choice: RerankChoice,
    *,
    weaviate_url: str,
    grpc_port: int,
    needs_query_vector: bool,
    jina_base_url: str | None = None,
    cut: Cut | None = None,
) -> str:
    """The script for ``request`` reranked by ``choice``. ``request`` is the validated one the page ran
    (its text property filled in); ``needs_query_vector``: the app computed the query vector itself. With a
    ``cut`` the script asks for ``limit=N`` candidates, reranks them all, then keeps what the cut keeps (Weaviate
    cannot cut on rerank scores itself)."""
    embedder = request.embedder if needs_query_vector else None
    recipe = get_provider(choice.reranker).script
    if recipe is None:
        raise InvalidInput(f"Copy as code cannot reproduce {choice.label} yet.",
                           hint="Copy the link instead: it reopens the same view.")
    helpers = set(recipe.helpers)
    if (embedder or "").startswith("jina:"):
        helpers.add("jina_api")
    if embedder == "local":
        helpers.add("local_embed")
    uses_jina, local = "jina_api" in helpers, "local_embed" in helpers
    keys = "WEAVIATE_API_KEY (if your Weaviate needs one)" + (", JINAAI_APIKEY" if uses_jina else "")
    what = f"{request.mode.value} search of {request.collection}, reranked by {choice.label}"
    extra_pip = (" wordllama numpy" if local else "") + (" httpx" if uses_jina else "")
    parts = [
        _HEADER.format(
            what=what, extra_pip=extra_pip, keys=keys, url=weaviate_url, grpc_port=str(int(grpc_port)),
            collection=request.collection, query=request.query, text_property=request.text_property,
        )
    ]
    filters = filter_source(request.filters)
    if filters is not None:
        dates = "import datetime\n" if "datetime." in filters else ""
        parts.append(f"{dates}from weaviate.classes.query import Filter\n\nFILTERS = {filters}\n")
    if uses_jina:
        parts.append(f"JINA_BASE_URL = os.environ.get(\"JINA_BASE_URL\", {resolve_base_url(jina_base_url)!r})\n")
    parts.append(_CONNECT.format(module_header=recipe.module_header))
    parts.append(_TEXT_OF)
    vector_expr = None
    if embedder == "local":
        vector_expr = "local_embed([QUERY])[0].tolist()"
    elif embedder is not None and embedder.startswith("jina:"):
        parts.append(_JINA_EMBED.format(model=embedder.removeprefix("jina:")))
        vector_expr = "jina_query_vector(QUERY)"
    if local:
        parts.append(_LOCAL_EMBED)
    if recipe.rerank_source is not None:
        parts.append(recipe.rerank_source(choice.model))
    module = recipe.rerank_source is None  # Weaviate reranks inside the search
    call = _search_call(request, vector_expr, rerank=module)
    if module:
        order = ("    # Weaviate's reranker module already sorted them\n"
                 "    ranked = [(i, o.metadata.rerank_score) for i, o in enumerate(response.objects)]\n")
    else:
        order = "    ranked = rerank(texts)  # (index, score), best first\n"
    if cut is not None:
        parts.append(_cut_source(cut, request.limit))
        order += ("    keep = kept([score for _, score in ranked])\n"
                  "    print(f\"kept {keep} of {len(ranked)}: {CUT_RULE}\", file=sys.stderr)\n"
                  "    ranked = ranked[:keep]\n")
    parts.append(
        "\n\ndef main() -> None:\n"
        "    client = connect()\n"
        "    try:\n"
        "        collection = client.collections.use(COLLECTION)\n"
        f"        response = {call}\n"
        "    finally:\n"
        "        client.close()\n"
        "    uuids = [str(o.uuid) for o in response.objects]\n"
        "    texts = [text_of((o.properties or {}).get(TEXT_PROPERTY)) for o in response.objects]\n"
        f"{order}"
        "    for rank, (i, _score) in enumerate(ranked, 1):\n"
        "        print(rank, uuids[i], texts[i][:80].replace(\"\\n\", \" \"))\n"
        "\n\nif __name__ == \"__main__\":\n"
        "    main()\n"
    )
    return "".join(parts)
