"""Helpers shared by the batch and CLI tests."""

from __future__ import annotations

from typing import Any

import pytest

from freshbooks_orm.batch import BatchInterrupted, BatchResult
from freshbooks_orm.http.transport import RetryPolicy

#: retries with waits too short to slow a test down
FAST = RetryPolicy(backoff=0.001, max_retry_after=0.05)


def interrupted_update(queryset: Any, after: int, **kwargs: Any) -> BatchResult:
    """``queryset.update(**kwargs)`` stopped by Ctrl-C once ``after`` items are finished (as
    a user pressing it would); returns the partial result the interruption carries."""

    def interrupt(finished: int, total: int, outcome: Any) -> None:
        if finished == after:
            raise KeyboardInterrupt

    with pytest.raises(BatchInterrupted) as caught:
        queryset.update(progress=interrupt, **kwargs)
    return caught.value.result
