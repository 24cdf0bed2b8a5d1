"""Every error code the API answers, in `userErrors[].code` and `errors[].extensions.code`.

One closed set, so clients can switch on it. A code is added here (with its description)
before any rule raises it; `DomainError` refuses a code that is not a member. Removing or
renaming a member is a breaking change (see README, "Deprecation policy").
"""

from __future__ import annotations

import enum
from typing import Final


class ErrorCode(enum.StrEnum):
    """A stable, machine-readable error code."""

    ACCESS_SET_BY_CLIENT = "ACCESS_SET_BY_CLIENT"
    ALREADY_AFFILIATE = "ALREADY_AFFILIATE"
    ALREADY_AWARDED = "ALREADY_AWARDED"
    ALREADY_INVITED = "ALREADY_INVITED"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    ALREADY_PARTNER = "ALREADY_PARTNER"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    BACKUP_MOVE_NOT_SUPPORTED = "BACKUP_MOVE_NOT_SUPPORTED"
    BAD_REQUEST = "BAD_REQUEST"
    BID_CLOSED = "BID_CLOSED"
    BID_EXCLUSIVITY_NOT_ACCEPTED = "BID_EXCLUSIVITY_NOT_ACCEPTED"
    BID_LINK_INVALID = "BID_LINK_INVALID"
    BID_LINK_USED = "BID_LINK_USED"
    CANNOT_INVITE_SELF = "CANNOT_INVITE_SELF"
    CASHBACK_CONFLICT = "CASHBACK_CONFLICT"
    CLIENT_NOT_OF_PARTNER = "CLIENT_NOT_OF_PARTNER"
    CONFLICT = "CONFLICT"
    CORRECTION_OF_CORRECTION = "CORRECTION_OF_CORRECTION"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    DESCRIPTION_TOO_SHORT = "DESCRIPTION_TOO_SHORT"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    EMAIL_REQUIRED = "EMAIL_REQUIRED"
    END_IN_PAST = "END_IN_PAST"
    END_REQUIRED = "END_REQUIRED"
    FORBIDDEN = "FORBIDDEN"
    GRANT_EXISTS = "GRANT_EXISTS"
    IDEMPOTENCY_KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    INVALID_ACCOUNT = "INVALID_ACCOUNT"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_BASKET = "INVALID_BASKET"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_DEADLINE = "INVALID_DEADLINE"
    INVALID_DURATION = "INVALID_DURATION"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_EXPIRY = "INVALID_EXPIRY"
    INVALID_ID = "INVALID_ID"
    INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_LANGUAGE = "INVALID_LANGUAGE"
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE"
    INVALID_PERIOD = "INVALID_PERIOD"
    INVALID_POSTING = "INVALID_POSTING"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_REGION = "INVALID_REGION"
    INVALID_SETTLEMENT_INPUT = "INVALID_SETTLEMENT_INPUT"
    INVALID_STATE = "INVALID_STATE"
    INVALID_TOKEN = "INVALID_TOKEN"
    INVALID_URL = "INVALID_URL"
    INVITATION_NOT_PENDING = "INVITATION_NOT_PENDING"
    IS_AFFILIATE = "IS_AFFILIATE"
    KINDS_REQUIRED = "KINDS_REQUIRED"
    LAST_LEGAL_REPRESENTATIVE = "LAST_LEGAL_REPRESENTATIVE"
    LIST_TOO_LONG = "LIST_TOO_LONG"
    MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
    MAX_COST_EXCEEDED = "MAX_COST_EXCEEDED"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    MIXED_CURRENCIES = "MIXED_CURRENCIES"
    NON_POSITIVE_AMOUNT = "NON_POSITIVE_AMOUNT"
    NOT_AN_INDIVIDUAL = "NOT_AN_INDIVIDUAL"
    NOT_A_COLLABORATOR = "NOT_A_COLLABORATOR"
    NOT_A_COMPANY = "NOT_A_COMPANY"
    NOT_A_PARTNER = "NOT_A_PARTNER"
    NOT_FOUND = "NOT_FOUND"
    NOT_FULL_ACCESS = "NOT_FULL_ACCESS"
    NO_CURRENCY = "NO_CURRENCY"
    NO_MATCHING_PARTNER = "NO_MATCHING_PARTNER"
    OFFER_EXISTS = "OFFER_EXISTS"
    OFFER_NOT_ALLOWED = "OFFER_NOT_ALLOWED"
    ORGANIZATION_REQUIRED = "ORGANIZATION_REQUIRED"
    PAGE_TOO_LARGE = "PAGE_TOO_LARGE"
    PARTNER_CANNOT_BE_AFFILIATE = "PARTNER_CANNOT_BE_AFFILIATE"
    PARTNER_MAY_NOT_ORDER = "PARTNER_MAY_NOT_ORDER"
    PARTNER_NOT_ACTIVE = "PARTNER_NOT_ACTIVE"
    PASSWORD_FIELDS_LIMIT = "PASSWORD_FIELDS_LIMIT"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    PAYER_NOT_ALLOWED = "PAYER_NOT_ALLOWED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    PAYMENT_METHODS_NOT_ALLOWED = "PAYMENT_METHODS_NOT_ALLOWED"
    PAYMENT_METHODS_REQUIRED = "PAYMENT_METHODS_REQUIRED"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PRODUCTS_NOT_ALLOWED = "PRODUCTS_NOT_ALLOWED"
    PRODUCTS_REQUIRED = "PRODUCTS_REQUIRED"
    PRODUCT_FAMILY_REQUIRED = "PRODUCT_FAMILY_REQUIRED"
    PRODUCT_NOT_COVERED = "PRODUCT_NOT_COVERED"
    PRODUCT_NOT_IN_ORGANIZATION = "PRODUCT_NOT_IN_ORGANIZATION"
    PRODUCT_NOT_RENEWABLE = "PRODUCT_NOT_RENEWABLE"
    PROGRAM_CONFLICT = "PROGRAM_CONFLICT"
    QUERY_TOO_LONG = "QUERY_TOO_LONG"
    READ_ONLY_TOKEN = "READ_ONLY_TOKEN"
    REGISTRATION_NUMBER_INVALID = "REGISTRATION_NUMBER_INVALID"
    REGISTRATION_NUMBER_REQUIRED = "REGISTRATION_NUMBER_REQUIRED"
    RESELLER_CONDITIONS_NOT_ACCEPTED = "RESELLER_CONDITIONS_NOT_ACCEPTED"
    ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED"
    SAME_ACCOUNT = "SAME_ACCOUNT"
    SAME_EMAIL = "SAME_EMAIL"
    SAME_ROLE = "SAME_ROLE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    SUB_CENT_AMOUNT = "SUB_CENT_AMOUNT"
    SUPPORT_ACCESS_ENDED = "SUPPORT_ACCESS_ENDED"
    SUPPORT_ACCESS_TOO_LONG = "SUPPORT_ACCESS_TOO_LONG"
    TERM_SET_BY_CLIENT = "TERM_SET_BY_CLIENT"
    THROTTLED = "THROTTLED"
    TOO_FEW_POSTINGS = "TOO_FEW_POSTINGS"
    TOO_LONG = "TOO_LONG"
    TOO_MANY_VARIABLES = "TOO_MANY_VARIABLES"
    TOO_MANY_VALUES = "TOO_MANY_VALUES"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNBALANCED = "UNBALANCED"
    UNKNOWN_EVENT_KIND = "UNKNOWN_EVENT_KIND"
    UNKNOWN_PRODUCT_FAMILY = "UNKNOWN_PRODUCT_FAMILY"
    UNKNOWN_PRODUCT_KIND = "UNKNOWN_PRODUCT_KIND"
    UNKNOWN_USER = "UNKNOWN_USER"
    UNSUPPORTED_CURRENCY = "UNSUPPORTED_CURRENCY"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    URL_NOT_ALLOWED = "URL_NOT_ALLOWED"
    WEBSITE_INVALID = "WEBSITE_INVALID"
    WEBSITE_REQUIRED = "WEBSITE_REQUIRED"
    WRONG_PASSWORD = "WRONG_PASSWORD"
    WRONG_SIDE = "WRONG_SIDE"
    ZERO_POSTING = "ZERO_POSTING"


#: What each code means, for the schema's enum value descriptions (every member has one).
ERROR_CODE_DESCRIPTIONS: Final[dict[ErrorCode, str]] = {
    ErrorCode.ACCESS_SET_BY_CLIENT: (
        "The client chose the access; the partner accepts it as offered."
    ),
    ErrorCode.ALREADY_AFFILIATE: "The organization is in the Affiliate Program already.",
    ErrorCode.ALREADY_AWARDED: "The bid has been awarded already.",
    ErrorCode.ALREADY_INVITED: "This person has a pending invitation already.",
    ErrorCode.ALREADY_MEMBER: "This person is a member of the organization already.",
    ErrorCode.ALREADY_PARTNER: "The organization is a partner already.",
    ErrorCode.AMOUNT_MISMATCH: "An amount does not match what the order or invoice says.",
    ErrorCode.BACKUP_MOVE_NOT_SUPPORTED: (
        "Swiss Backup customers stay in their account: moving them is refused."
    ),
    ErrorCode.BAD_REQUEST: "The HTTP request could not be read as a GraphQL request.",
    ErrorCode.BID_CLOSED: "The bid is no longer open.",
    ErrorCode.BID_EXCLUSIVITY_NOT_ACCEPTED: (
        "The partner application did not accept the bid exclusivity terms."
    ),
    ErrorCode.BID_LINK_INVALID: "The bid's emailed link is unknown or expired.",
    ErrorCode.BID_LINK_USED: "The bid's emailed link has been used already.",
    ErrorCode.CANNOT_INVITE_SELF: "An organization cannot invite itself.",
    ErrorCode.CASHBACK_CONFLICT: "The cashback's ledger key is taken by another entry.",
    ErrorCode.CLIENT_NOT_OF_PARTNER: "An organization named is not a client of this partner.",
    ErrorCode.CONFLICT: "Something changed at the same time; try again.",
    ErrorCode.CORRECTION_OF_CORRECTION: "A correction entry is not corrected; credit anew.",
    ErrorCode.CURRENCY_MISMATCH: "Amounts in different currencies were combined.",
    ErrorCode.DESCRIPTION_TOO_SHORT: "The description is shorter than the minimum length.",
    ErrorCode.EMAIL_NOT_VERIFIED: (
        "The account's email is not verified yet; follow the emailed link first."
    ),
    ErrorCode.EMAIL_REQUIRED: "An email address is required here.",
    ErrorCode.FORBIDDEN: "The viewer may not do this.",
    ErrorCode.GRANT_EXISTS: "A partnership between these organizations exists already.",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: (
        "The idempotency key was used before with a different request."
    ),
    ErrorCode.INTERNAL_SERVER_ERROR: "An unexpected error; its details stay in the server logs.",
    ErrorCode.INVALID_ACCOUNT: "A ledger account name is invalid.",
    ErrorCode.INVALID_AMOUNT: "An amount is not a valid, finite, non-negative amount of money.",
    ErrorCode.INVALID_BASKET: "A basket has no line, too many lines, or both `lines` and the "
    "deprecated single-product fields.",
    ErrorCode.INVALID_CREDENTIALS: "The email or password is wrong.",
    ErrorCode.INVALID_CURSOR: "A paging cursor is not valid.",
    ErrorCode.INVALID_DEADLINE: "The deadline is not in the allowed range.",
    ErrorCode.INVALID_DURATION: "The duration is too short.",
    ErrorCode.INVALID_EMAIL: "The value is not a valid email address.",
    ErrorCode.INVALID_EXPIRY: "The expiry must be in the future.",
    ErrorCode.INVALID_ID: "The value is not an ID of the expected type.",
    ErrorCode.INVALID_IDEMPOTENCY_KEY: "The idempotency key is empty or too long.",
    ErrorCode.INVALID_INPUT: "A field's value is missing or not valid.",
    ErrorCode.INVALID_LANGUAGE: "The value is not an ISO 639-1 language code.",
    ErrorCode.INVALID_PAGE_SIZE: "A page size (first or last) is negative.",
    ErrorCode.INVALID_PERIOD: "The period's start is after its end.",
    ErrorCode.INVALID_POSTING: "A ledger posting is invalid.",
    ErrorCode.INVALID_QUANTITY: "The quantity is not a positive whole number within the limit.",
    ErrorCode.INVALID_REGION: (
        "The value is not an ISO 3166-1 country or ISO 3166-2 subdivision code."
    ),
    ErrorCode.INVALID_SETTLEMENT_INPUT: (
        "An unknown grant level, payment method or orderer was given to pricing."
    ),
    ErrorCode.INVALID_STATE: "The object's current state does not allow this action.",
    ErrorCode.INVALID_TOKEN: "The token is unknown, expired or used already.",
    ErrorCode.INVITATION_NOT_PENDING: "The invitation is no longer pending.",
    ErrorCode.IS_AFFILIATE: "An affiliate cannot apply to the Partner Program.",
    ErrorCode.LAST_LEGAL_REPRESENTATIVE: (
        "The organization's last legal representative cannot leave or change role."
    ),
    ErrorCode.LIST_TOO_LONG: "A list argument has more items than allowed.",
    ErrorCode.MAX_ALIASES_EXCEEDED: (
        "The document has more aliases than allowed (counted through fragment spreads)."
    ),
    ErrorCode.MAX_COST_EXCEEDED: (
        "The query's computed cost (extensions.cost) is above the maximum; ask for less."
    ),
    ErrorCode.METHOD_NOT_ALLOWED: "The HTTP method is not allowed on this endpoint.",
    ErrorCode.MIXED_CURRENCIES: "A ledger entry mixes currencies.",
    ErrorCode.NON_POSITIVE_AMOUNT: "The amount must be greater than zero.",
    ErrorCode.NOT_AN_INDIVIDUAL: "Only an individual can do this.",
    ErrorCode.NOT_A_COLLABORATOR: "The member is not a collaborator.",
    ErrorCode.NOT_A_COMPANY: "Only a company can do this.",
    ErrorCode.NOT_A_PARTNER: "The organization is not a partner.",
    ErrorCode.NOT_FOUND: "No such object, or one the viewer may not see (both answer alike).",
    ErrorCode.NOT_FULL_ACCESS: "The partnership does not give full access.",
    ErrorCode.NO_CURRENCY: "No currency could be determined; give one.",
    ErrorCode.NO_MATCHING_PARTNER: "No partner matches the bid.",
    ErrorCode.OFFER_EXISTS: "This partner has made an offer on the bid already.",
    ErrorCode.OFFER_NOT_ALLOWED: "This organization may not make an offer on the bid.",
    ErrorCode.ORGANIZATION_REQUIRED: "Name the organization that acts.",
    ErrorCode.PAGE_TOO_LARGE: "A page size (first or last) is above the maximum.",
    ErrorCode.PARTNER_CANNOT_BE_AFFILIATE: "A partner cannot join the Affiliate Program.",
    ErrorCode.PARTNER_MAY_NOT_ORDER: "The partner may not order for this client under the grant.",
    ErrorCode.PARTNER_NOT_ACTIVE: "The partner's program status is not active.",
    ErrorCode.PASSWORD_FIELDS_LIMIT: "A request checks at most one password.",
    ErrorCode.PASSWORD_TOO_SHORT: "The password is shorter than the minimum length.",
    ErrorCode.PAYER_NOT_ALLOWED: "This payer is not allowed for the order.",
    ErrorCode.PAYLOAD_TOO_LARGE: "The HTTP request body is too large.",
    ErrorCode.PAYMENT_METHODS_NOT_ALLOWED: "Payment methods apply only to a FULL grant.",
    ErrorCode.PAYMENT_METHODS_REQUIRED: "A FULL grant needs payment methods.",
    ErrorCode.PERSISTED_QUERY_NOT_ALLOWED: (
        "The server runs only registered operations (allowlist mode); send a registered hash."
    ),
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: (
        "The persisted query's hash is not known; send the query with its hash to register it."
    ),
    ErrorCode.PRODUCTS_NOT_ALLOWED: "Products are chosen only for a LIMITED grant.",
    ErrorCode.PRODUCTS_REQUIRED: "A LIMITED grant needs products or product families.",
    ErrorCode.PRODUCT_FAMILY_REQUIRED: "At least one product family is required.",
    ErrorCode.PRODUCT_NOT_COVERED: "The product is not covered by the rights given.",
    ErrorCode.PRODUCT_NOT_IN_ORGANIZATION: "The product does not belong to the organization.",
    ErrorCode.PRODUCT_NOT_RENEWABLE: "The product cannot be renewed.",
    ErrorCode.PROGRAM_CONFLICT: "The organization's program changed at the same time; try again.",
    ErrorCode.QUERY_TOO_LONG: "The GraphQL document is longer than the server accepts.",
    ErrorCode.READ_ONLY_TOKEN: "The API token is read-only.",
    ErrorCode.REGISTRATION_NUMBER_INVALID: "The registration number is not valid for its register.",
    ErrorCode.REGISTRATION_NUMBER_REQUIRED: "A registration number is required.",
    ErrorCode.RESELLER_CONDITIONS_NOT_ACCEPTED: "The reseller conditions were not accepted.",
    ErrorCode.ROLE_NOT_ALLOWED: "The viewer's role in the organization does not allow this.",
    ErrorCode.SAME_ACCOUNT: "A ledger entry moves money from an account to itself.",
    ErrorCode.SAME_EMAIL: "The new email is the current one.",
    ErrorCode.SAME_ROLE: "The member has this role already.",
    ErrorCode.SERVICE_UNAVAILABLE: "A backing service is out of reach for a moment; try again.",
    ErrorCode.SUB_CENT_AMOUNT: "An amount has more than two decimals.",
    ErrorCode.SUPPORT_ACCESS_ENDED: "The support access has ended.",
    ErrorCode.SUPPORT_ACCESS_TOO_LONG: "The support access lasts longer than allowed.",
    ErrorCode.THROTTLED: "Too many attempts; retry after extensions.retryAfterSeconds.",
    ErrorCode.TOO_FEW_POSTINGS: "A ledger entry needs at least two postings.",
    ErrorCode.TOO_MANY_VARIABLES: "The request has more variables than the server accepts.",
    ErrorCode.TOO_LONG: "The value is longer than allowed.",
    ErrorCode.TOO_MANY_VALUES: "A list has more values than allowed.",
    ErrorCode.UNAUTHENTICATED: "Authentication is required (log in or send a valid token).",
    ErrorCode.UNBALANCED: "A ledger entry's postings do not sum to zero.",
    ErrorCode.UNKNOWN_PRODUCT_FAMILY: "The product family is not in the catalog.",
    ErrorCode.UNKNOWN_PRODUCT_KIND: "The product kind is not in the catalog.",
    ErrorCode.UNKNOWN_USER: "No user has this email.",
    ErrorCode.UNSUPPORTED_CURRENCY: "The currency is not one the product is sold in.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "The HTTP request's content type is not supported.",
    ErrorCode.WEBSITE_INVALID: "The website address is not valid.",
    ErrorCode.WEBSITE_REQUIRED: "A website address is required.",
    ErrorCode.WRONG_PASSWORD: "The password is wrong.",
    ErrorCode.WRONG_SIDE: "The viewer's organization is on the other side of the partnership.",
    ErrorCode.ZERO_POSTING: "A ledger posting has a zero amount.",
    ErrorCode.END_IN_PAST: ("A grant's end date must be in the future."),
    ErrorCode.END_REQUIRED: ("A grant that renews itself needs an end date."),
    ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS: (
        "A request with this Idempotency-Key is still running; retry later."
    ),
    ErrorCode.INVALID_URL: (
        "The webhook URL is not an http(s) URL with a host (no credentials, no fragment)."
    ),
    ErrorCode.KINDS_REQUIRED: ("A webhook endpoint receives at least one event kind."),
    ErrorCode.TERM_SET_BY_CLIENT: ("Only the client gives a partnership an end date."),
    ErrorCode.UNKNOWN_EVENT_KIND: ("An event kind named is not one the API sends."),
    ErrorCode.URL_NOT_ALLOWED: (
        "The webhook URL points to a loopback, private or internal address (refused in production)."
    ),
}
