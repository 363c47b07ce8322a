"""One file per revision (``vNNNN_slug.py``, revision id ``NNNN_slug``), oldest first."""
