"""The prepaid ledger's use cases: credit cashback, correct entries, read accounts."""

from resolvers.ledger.access import (
    PrepaidAccountView,
    client_of_partner,
    may_read_prepaid_account,
    prepaid_account,
)
from resolvers.ledger.cashback import (
    CASHBACK_CONFLICT,
    CASHBACK_EXPENSE_CODE,
    CREDIT_CASHBACK,
    CashbackCredit,
    CashbackOutcome,
    CashbackRequest,
    cashback_key,
    credit_cashback,
    credit_cashbacks,
)
from resolvers.ledger.corrections import correct_entry
from resolvers.ledger.journal import prepaid_account_code
from resolvers.ledger.prepaid import (
    PrepaidEntry,
    list_prepaid_entries,
    prepaid_balance,
    prepaid_currencies,
    prepaid_entries_by_id,
)
from resolvers.ledger.statements import (
    CurrencyStatement,
    cashback_statement,
    month_bounds,
    partners_with_entries,
)

__all__ = [
    "CASHBACK_CONFLICT",
    "CASHBACK_EXPENSE_CODE",
    "CREDIT_CASHBACK",
    "CashbackCredit",
    "CashbackOutcome",
    "CashbackRequest",
    "CurrencyStatement",
    "PrepaidAccountView",
    "PrepaidEntry",
    "cashback_key",
    "cashback_statement",
    "client_of_partner",
    "correct_entry",
    "credit_cashback",
    "credit_cashbacks",
    "list_prepaid_entries",
    "may_read_prepaid_account",
    "month_bounds",
    "partners_with_entries",
    "prepaid_account",
    "prepaid_account_code",
    "prepaid_balance",
    "prepaid_currencies",
    "prepaid_entries_by_id",
]
