"""Terminal screens (Textual): the labeler, the adjudicator, and shared widgets for review.

Importing this package loads Textual; the CLI imports it only when a screen is opened.
"""
