"""The worker of the kill test: ``dramatiq tests.integration.slow_cashback_worker``.

It is ``workers.actors`` (same broker from the environment, same actors) with one change:
each batch of cashback credits, once written and before its transaction commits, appends
its order ids to ``CASHBACK_TEST_JOURNAL`` and then pauses ``CASHBACK_TEST_DELAY_S``
seconds. A SIGKILL during the pause kills credits in flight: their orders are in the
journal but their entries never commit. Production code has no such hook; only this
module wraps it. Batches are small (``OUTBOX_BATCH_SIZE`` 4 unless the environment says
otherwise), so that the worker is killed with some credits committed and some not.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from resolvers import ledger

os.environ.setdefault("PARTNERGRAPH_OUTBOX_BATCH_SIZE", "4")

_credit = ledger.credit_cashbacks
_DELAY_S = float(os.environ.get("CASHBACK_TEST_DELAY_S", "0"))
_JOURNAL = os.environ.get("CASHBACK_TEST_JOURNAL")
_journal_fd = os.open(_JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND) if _JOURNAL else None


async def _slow_credits(session: Any, requests: Any, *args: Any, **kwargs: Any) -> Any:
    outcomes = await _credit(session, requests, *args, **kwargs)
    if _journal_fd is not None:
        orders = "".join(f"{request.order_id}\n" for request in requests)
        os.write(_journal_fd, orders.encode())  # one small O_APPEND write
    await asyncio.sleep(_DELAY_S)  # written, not committed: a SIGKILL here loses them
    return outcomes


ledger.credit_cashbacks = _slow_credits  # workers.cashback calls ledger.credit_cashbacks(...)

from workers.actors import broker  # noqa: E402 - after the wrap, as the CLI's broker

__all__ = ["broker"]
