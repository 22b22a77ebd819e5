"""The presentation wing: what a room is shown.

- ``stories``   stories (ordered saved views) and their file codec, the demo story, blind A/B pairs, the tally
- ``presenter`` prepares a story's views (the next one ahead of time, never a paid call without a click)
- ``snapshot``  a view as one self-contained HTML file, and charts as PNG

Persistence is the store's (``store/stories.py``); never imports streamlit.
"""
