"""What time it is, from one place: the system clock, or FEEDTOOL_NOW for a test or a replay.

Published files never depend on it (they are a function of the store and the config); what does
is a retention policy (`[store] keep_days`) and `feedtool health`, which say how old things are.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from feedtool.errors import ConfigError

NOW_ENV = "FEEDTOOL_NOW"  # an ISO 8601 time, "2024-05-01T12:00:00Z": the time feedtool takes as now


def now() -> datetime:
    fixed = os.environ.get(NOW_ENV)
    if not fixed:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(fixed)
    except ValueError:
        raise ConfigError(f"{NOW_ENV}={fixed!r} is not an ISO 8601 time like 2024-05-01T12:00:00Z") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
