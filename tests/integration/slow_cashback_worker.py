"""The worker of the kill test: ``dramatiq tests.integration.slow_cashback_worker``.

It is ``workers.actors`` (same broker from the environment, same actors) with one change:
each cashback credit, once written and before its transaction commits, appends its order
id to ``CASHBACK_TEST_JOURNAL`` and then pauses ``CASHBACK_TEST_DELAY_S`` seconds. A
SIGKILL during the pause kills a credit in flight: its order is in the journal but its
entry never commits. Production code has no such hook; only this module wraps it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from resolvers import ledger

_credit = ledger.credit_cashback
_DELAY_S = float(os.environ.get("CASHBACK_TEST_DELAY_S", "0"))
_JOURNAL = os.environ.get("CASHBACK_TEST_JOURNAL")
_journal_fd = os.open(_JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND) if _JOURNAL else None


async def _slow_credit(session: Any, order_id: int, *args: Any, **kwargs: Any) -> Any:
    result = await _credit(session, order_id, *args, **kwargs)
    if _journal_fd is not None:
        os.write(_journal_fd, f"{order_id}\n".encode())  # one small O_APPEND write
    await asyncio.sleep(_DELAY_S)  # written, not committed: a SIGKILL here loses it
    return result


ledger.credit_cashback = _slow_credit  # workers.cashback calls ledger.credit_cashback(...)

from workers.actors import broker  # noqa: E402 - after the wrap, as the CLI's broker

__all__ = ["broker"]
