"""The one small corpus the tests (and the benchmarks) search: short texts, most about cats, some not.

Queries such as "cat", "cat food" or "cats at night" find several relevant texts and leave distractors (the
stock market, a recipe, a puppy) for rerankers to push down. Tests count on its exact texts (e.g. how many
match a keyword query), so extend it only by adding a tuple next to it. Tests that check a scoring rule or a
parsing detail keep the few texts that rule needs next to their assertions instead.
"""

from __future__ import annotations

CORPUS: tuple[str, ...] = (
    "a cat sleeps on the warm windowsill all afternoon",
    "dogs and cats can live together if introduced slowly",
    "the stock market closed higher on friday",
    "kittens need food for growing cats four times a day",
    "a recipe for apple pie with cinnamon",
    "big cats such as lions hunt at night",
    "how to train a puppy to sit",
    "cat food brands compared by price and protein",
)

# The same with four more, for tests that need more objects than a search returns (K = 10).
LARGER_CORPUS: tuple[str, ...] = (
    *CORPUS,
    "dry food or wet food: what a cat prefers",
    "the weather stays cold and rainy all week",
    "feeding a cat twice a day keeps it healthy",
    "lions and tigers are the biggest cats",
)

# Text from the database is untrusted: this one must be stored, returned and shown exactly as it is.
UNTRUSTED_MARKUP = "<script>alert('cat')</script> untrusted markup stays as it is"
