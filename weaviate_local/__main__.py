"""``python -m weaviate_local``: the same as the ``weaviate-local`` command."""

import sys

from weaviate_local.cli import main

sys.exit(main())
