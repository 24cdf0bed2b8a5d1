"""What each enum value and argument of the schema means, where the code declaring it does
not say (ErrorCode's values live beside its members, in domain/error_codes.py; connection
arguments in schema.base). `describe` writes them into a built schema; a test measures
that every enum value and every argument is described."""

from __future__ import annotations

from typing import Final

from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)

ENUM_VALUES: Final[dict[str, dict[str, str]]] = {
    "AccessLevel": {
        "LIMITED": "The partner sees and manages the products granted, one by one.",
        "FULL": "The partner sees and manages the whole organization.",
    },
    "ApiTokenAccess": {
        "READ": "Queries only.",
        "READ_WRITE": "Queries and mutations.",
    },
    "ApplicationStatus": {
        "ACCEPTED": "Every condition was met: the organization is a partner.",
        "REFUSED": "A condition was not met; `refusalReasons` says which.",
    },
    "AuditActorKind": {
        "USER": "A person, logged in.",
        "API_TOKEN": "An API token of an organization.",
        "SYSTEM": "The system itself (a scheduled job, an expiry).",
    },
    "BidStatus": {
        "DRAFT_UNVERIFIED": "Posted by a visitor whose email is not verified yet.",
        "OPEN": "Sent to the matching partners; offers are welcome.",
        "AWARDED": "The author chose an offer.",
        "EXPIRED": "The deadline passed without an award.",
        "NO_MATCH": "No partner matched the bid.",
    },
    "ProductFamily": {
        "WEB_HOSTING": "Web hosting.",
        "MAIL_HOSTING": "Mail hosting.",
        "DOMAINS": "Domain names, priced per extension.",
        "STORAGE": "Online storage and backup (kDrive, Swiss Backup).",
        "CLOUD": "Public cloud.",
    },
    "ProductKind": {
        "WEB_HOSTING": "A web hosting (family WEB_HOSTING).",
        "MAIL_HOSTING": "A mail hosting (family MAIL_HOSTING).",
        "DOMAIN_CH": "A .ch domain name (family DOMAINS).",
        "DOMAIN_LI": "A .li domain name (family DOMAINS).",
        "DOMAIN_COM": "A .com domain name (family DOMAINS).",
        "DOMAIN_FR": "A .fr domain name (family DOMAINS).",
        "DOMAIN_DE": "A .de domain name (family DOMAINS).",
        "DOMAIN_EU": "A .eu domain name (family DOMAINS).",
        "KDRIVE": "kDrive online storage (family STORAGE).",
        "SWISS_BACKUP": "Swiss Backup (family STORAGE).",
        "PUBLIC_CLOUD": "Public cloud (family CLOUD).",
    },
    "Currency": {
        "CHF": "Swiss franc.",
        "EUR": "Euro.",
    },
    "EventKind": {
        "GRANT_INVITED": "A partnership invitation was sent.",
        "GRANT_ACCEPTED": "A partnership invitation was accepted.",
        "GRANT_REFUSED": "A partnership invitation was refused.",
        "GRANT_CANCELLED": "A partnership invitation was cancelled.",
        "GRANT_ACCESS_CHANGED": "The client changed the partner's access.",
        "GRANT_PAYMENT_METHODS_CHANGED": "The client changed the payment methods.",
        "GRANT_STOPPED": "A collaboration was stopped.",
        "GRANT_EXPIRING": "A time-bound grant ends soon.",
        "GRANT_EXPIRED": "A grant or invitation expired.",
        "ORDER_PLACED": "An order was placed.",
        "INVOICE_ISSUED": "An invoice was issued.",
        "CASHBACK_CREDITED": "Cashback was credited to the partner's prepaid account.",
        "BID_RECEIVED": "A bid was delivered to the partner.",
        "OFFER_MADE": "A partner made an offer on a bid.",
        "OFFER_AWARDED": "The bid's author awarded an offer.",
        "MEMBER_JOINED": "A person joined the organization.",
        "MEMBER_REMOVED": "A member left or was removed.",
    },
    "GrantStatus": {
        "PENDING": "Invited, waiting for the other side's answer.",
        "ACTIVE": "Accepted: the partner has the access granted.",
        "REFUSED": "The invited side said no.",
        "CANCELLED": "The inviting side withdrew the invitation.",
        "EXPIRED": "The invitation was not answered in time.",
        "STOPPED": "The collaboration ended; the partner's access is gone.",
    },
    "InvoiceStatus": {
        "DUE": "Not paid yet.",
        "PAID": "Paid.",
    },
    "LedgerEntryKind": {
        "CASHBACK": "Cashback credited for an order.",
        "CORRECTION": "A correction of an earlier entry (its reversal).",
    },
    "MemberInvitationStatus": {
        "PENDING": "Sent, not answered yet.",
        "ACCEPTED": "The person joined.",
        "CANCELLED": "Withdrawn by the organization.",
        "EXPIRED": "Not accepted in time.",
    },
    "OrderKind": {
        "ORDER": "A new product.",
        "RENEWAL": "One more period of an existing product.",
    },
    "OrganizationKind": {
        "COMPANY": "A company (registered).",
        "INDIVIDUAL": "A private person.",
    },
    "PartnerStatus": {
        "ACTIVE": "In the program: listed, invited, sent bids.",
        "SUSPENDED": "Out of the program for now.",
    },
    "PaymentMethods": {
        "CLIENT": "The client's wallet pays.",
        "PARTNER": "The partner's wallet pays.",
    },
    "ProductStatus": {
        "ACTIVE": "Running and billed.",
        "EXPIRED": "Its period ended without renewal.",
        "CANCELLED": "Ended on request.",
    },
    "Role": {
        "LEGAL_REPRESENTATIVE": "Acts for the organization in law: every right.",
        "ADMINISTRATOR": "Manages the organization, its members and billing.",
        "COLLABORATOR": "Works on the clients and products its rights name.",
        "EXTERNAL": "A user invited from outside the organization.",
    },
    "Side": {
        "PARTNER": "The partner's side of a partnership.",
        "CLIENT": "The client's side of a partnership.",
    },
    "SupportAccessStatus": {
        "ACTIVE": "Support may read the organization now.",
        "EXPIRED": "Its time ran out.",
        "REVOKED": "Ended early by the organization.",
    },
    "WebhookDeliveryStatus": {
        "PENDING": "Not delivered yet (waiting or retrying).",
        "SUCCEEDED": "The endpoint answered 2xx.",
        "FAILED": "Every attempt failed; no more retries.",
    },
    "WebhookEndpointStatus": {
        "ENABLED": "Events are delivered to it.",
        "DISABLED": "Nothing is delivered to it.",
    },
}


#: Arguments by `Type.field(argument)`; every mutation's single `input` is described
#: by its input type, which the argument's description names.
ARGUMENTS: Final[dict[str, str]] = {
    "Grant.auditEvents(filter)": "Only the events of these kinds, actors or period.",
    "Organization.auditEvents(filter)": "Only the events of these kinds, actors or period.",
    "Organization.memberInvitations(pendingOnly)": "Only the invitations still pending.",
    "Query.partners(search)": "Part of the partner's name, or a legal representative's "
    "exact email.",
    "Query.directory(search)": "Words found in the listing's name, description or website.",
    "Query.directory(languages)": "ISO 639-1 codes: listings speaking any of them.",
    "Query.directory(regions)": "ISO 3166 codes: listings serving any of them (a country "
    "serves its subdivisions).",
    "Query.directory(productFamilies)": "Listings offering any of these product families.",
    "Query.partnerApplications(organizationId)": "The applying organization.",
    "Query.partnerReviews(organizationId)": "The partner's organization.",
    "Query.yearlyReviews(organizationId)": "The partner's organization.",
    "Query.supportAccesses(organizationId)": "The organization support may read.",
    "Query.supportView(organizationId)": "The organization to read, under a support access.",
    "Query.backupAccounts(organizationId)": "The partner's organization.",
    "Query.receivedBids(partnerId)": "The partner that received the bids.",
    "Query.authoredBid(authorToken)": "The token of the link emailed to the bid's author.",
    "Subscription.events(kinds)": "Only events of these kinds (all when null).",
    "Subscription.grantChanged(grantId)": "The grant to follow.",
    "Subscription.bidReceived(partnerId)": "The partner whose bids to follow.",
}


def describe(schema: GraphQLSchema) -> None:
    """Describe `schema`'s enum values and arguments from `ENUM_VALUES` and `ARGUMENTS`
    (what the code describes already keeps its description)."""
    describe_enum_values(schema)
    for name, gql_type in schema.type_map.items():
        if name.startswith("__") or not isinstance(
            gql_type, GraphQLObjectType | GraphQLInterfaceType
        ):
            continue
        for field_name, field in gql_type.fields.items():
            for arg_name, arg in field.args.items():
                if arg.description:
                    continue
                text = ARGUMENTS.get(f"{name}.{field_name}({arg_name})")
                if text is None and arg_name == "input":
                    text = f"What `{field_name}` needs: see `{get_named_type(arg.type).name}`."
                arg.description = text


def describe_enum_values(schema: GraphQLSchema) -> None:
    """Give each enum value of `schema` its description from `ENUM_VALUES` (values that
    already have one, such as ErrorCode's, keep it)."""
    for name, gql_type in schema.type_map.items():
        if not isinstance(gql_type, GraphQLEnumType) or name.startswith("__"):
            continue
        for value_name, value in gql_type.values.items():
            text = ENUM_VALUES.get(name, {}).get(value_name)
            if text is not None and not value.description:
                value.description = text
