"""The vocabulary of the program, shared by every layer."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    LEGAL_REPRESENTATIVE = "LEGAL_REPRESENTATIVE"
    ADMINISTRATOR = "ADMINISTRATOR"
    COLLABORATOR = "COLLABORATOR"
    EXTERNAL = "EXTERNAL"


class OrganizationKind(enum.StrEnum):
    COMPANY = "COMPANY"
    INDIVIDUAL = "INDIVIDUAL"


class Side(enum.StrEnum):
    """Which side of a grant: the reseller or its client."""

    PARTNER = "PARTNER"
    CLIENT = "CLIENT"


class GrantStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    REFUSED = "REFUSED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    STOPPED = "STOPPED"


class AccessLevel(enum.StrEnum):
    LIMITED = "LIMITED"
    FULL = "FULL"


class PaymentMethods(enum.StrEnum):
    """Whose wallet pays under a FULL grant."""

    CLIENT = "CLIENT"
    PARTNER = "PARTNER"


class PartnerStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class ProductStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class InvoiceStatus(enum.StrEnum):
    DUE = "DUE"
    PAID = "PAID"


class ApiTokenAccess(enum.StrEnum):
    READ = "READ"
    READ_WRITE = "READ_WRITE"


class EmailTokenPurpose(enum.StrEnum):
    """What an emailed single-use link does when redeemed."""

    VERIFY_EMAIL = "VERIFY_EMAIL"
    RESET_PASSWORD = "RESET_PASSWORD"
    CHANGE_EMAIL = "CHANGE_EMAIL"


class MemberInvitationStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
