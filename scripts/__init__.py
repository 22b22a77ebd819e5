"""Repository tools, run from the repository root as modules: ``python -m scripts.demo`` (what ``make demo``
runs), ``python -m scripts.load_demo``, ``python -m scripts.build_judgements``, ``python -m scripts.render_charts``.

They work on this checkout (the app file, the data files), so they are not installed with the package.
"""
