"""modkit: rebuild, label, classify and review news comment threads.

The public API (each CLI command is a few lines over these):

- :mod:`modkit.threads` -- ``read(source)``, ``iter_threads``, ``to_frame``: pages to reply trees.
- :mod:`modkit.labels` -- ``LabelStore``, ``LabelEvent``: the append-only label files.
"""

__version__ = "0.2.0"
