"""A database's life: the recorded versions (`versions.py`), the schema stored with each (`snapshots.py`),
and two schemas from anywhere in it named and compared (`comparison.py`, `comparison_report.py`)."""
