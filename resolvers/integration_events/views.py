"""The object of each event as the graph shows it to the receiving organization: global
IDs, the fields its legal representatives read, nothing more."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from db.models import Bid, Grant, Invoice, Membership, Offer, Order, OrderLine
from domain.access import ClientVisibility, GrantFacts, can_read_invoice, client_visibility
from domain.integration_events import organization_viewer
from domain.money import Currency


def global_id(type_name: str, pk: int) -> str:
    """A Relay global ID, as the graph encodes it (base64 of ``Type:id``)."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def ref(type_name: str, pk: int | None) -> dict[str, str] | None:
    return None if pk is None else {"id": global_id(type_name, pk)}


def money(amount: Decimal, currency: Currency) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "currency": currency.value}


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def grant_view(facts: GrantFacts, grant: Grant, organization_id: int) -> dict[str, Any]:
    """A grant as ``Grant`` answers it to the organization: products (and the client's
    name) only where the graph shows them to that side."""
    viewer = organization_viewer(organization_id)
    if grant.client_id is not None and viewer.is_member(grant.client_id):
        visibility = ClientVisibility.WHOLE
    else:
        visibility = client_visibility(viewer, facts)
    return {
        "id": global_id("Grant", grant.id),
        "status": grant.status.value,
        "initiatedBy": grant.initiated_by.value,
        "level": grant.level.value if grant.level else None,
        "paymentMethods": grant.payment_methods.value if grant.payment_methods else None,
        "endsAt": _when(grant.ends_at),
        "renewsAutomatically": bool(grant.renews_automatically),
        "partner": ref("Partner", grant.partner_id),
        "grantedProducts": [
            ref("Product", p)
            for p in (sorted(facts.product_ids) if visibility >= ClientVisibility.PRODUCTS else [])
        ],
    }


def order_view(order: Order, lines: Sequence[OrderLine], organization_id: int) -> dict[str, Any]:
    """An order's amounts and invoice only to the paying organization's billing members.
    `productKind`, `productFamily`, `quantity` and `product` are its first line's."""
    view: dict[str, Any] = {
        "id": global_id("Order", order.id),
        "kind": order.kind.value,
        "productKind": order.product_kind,
        "productFamily": order.product_family,
        "quantity": order.quantity,
        "currency": order.currency.value,
        "orderedBy": order.orderer_side.value,
        "payer": order.payer_side.value,
        "product": ref("Product", order.product_id),
        "lines": [
            {
                "productKind": line.product_kind,
                "productFamily": line.product_family,
                "quantity": line.quantity,
                "product": ref("Product", line.product_id),
            }
            for line in lines
        ],
    }
    if can_read_invoice(organization_viewer(organization_id), order.payer_id):
        view["invoice"] = ref("Invoice", order.invoice_id)
    return view


def invoice_view(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": global_id("Invoice", invoice.id),
        "number": invoice.number,
        "status": invoice.status.value,
        "total": money(invoice.total_amount, invoice.currency),
        "issuedAt": _when(invoice.issued_at),
    }


def cashback_view(
    order_id: int, entry_id: int, amount: Decimal, currency: Currency
) -> dict[str, Any]:
    return {
        "ledgerEntry": ref("LedgerEntry", entry_id),
        "order": ref("Order", order_id),
        "amount": money(amount, currency),
    }


def bid_view(bid: Bid) -> dict[str, Any]:
    """A bid as its partners read it: no author contact details (only once awarded)."""
    return {
        "id": global_id("Bid", bid.id),
        "description": bid.description,
        "productFamilies": list(bid.product_families),
        "budget": money(bid.budget_amount, bid.currency),
        "language": bid.language,
        "region": bid.region,
        "deadline": _when(bid.deadline),
    }


def offer_view(offer: Offer, bid: Bid, *, awarded: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": global_id("Offer", offer.id),
        "bid": ref("Bid", bid.id),
        "amount": money(offer.amount, offer.currency),
        "awarded": awarded,
    }
    if awarded:  # the awarded partner, only, reads the author's contact details
        view["authorName"] = bid.author_name
        view["authorEmail"] = bid.author_email
    return view


def member_view(membership: Membership, email: str, *, joined: bool) -> dict[str, Any]:
    return {
        "id": global_id("Member", membership.id),
        "organization": ref("Organization", membership.organization_id),
        "role": membership.role.value,
        "email": email,
        "member": joined,
    }
