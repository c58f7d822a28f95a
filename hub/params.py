"""Numbers in paths and queries, bounded to what the records can hold.

An id of 10^30 or a year 0 is bad input: it must be a 422 naming the parameter, not an
OverflowError from SQLite or a ValueError from datetime answered as a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ROW = 2**53  # every SQLite rowid the hub makes is far below; JavaScript's safe integer bound

RowId = Annotated[int, Path(ge=1, le=MAX_ROW)]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW)]
Year = Annotated[int, Path(ge=2000, le=2200)]
