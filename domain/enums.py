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


class ProductFamily(enum.StrEnum):
    """The catalog's product families: partner discounts and quantity tiers are per family."""

    WEB_HOSTING = "WEB_HOSTING"
    MAIL_HOSTING = "MAIL_HOSTING"
    DOMAINS = "DOMAINS"
    STORAGE = "STORAGE"
    CLOUD = "CLOUD"


class ProductKind(enum.StrEnum):
    """What can be ordered. The API names them in capitals (WEB_HOSTING); the value is the
    kind stored on products and orders and written in exports and events (web_hosting)."""

    WEB_HOSTING = "web_hosting"
    MAIL_HOSTING = "mail_hosting"
    DOMAIN_CH = "domain_ch"
    DOMAIN_LI = "domain_li"
    DOMAIN_COM = "domain_com"
    DOMAIN_FR = "domain_fr"
    DOMAIN_DE = "domain_de"
    DOMAIN_EU = "domain_eu"
    KDRIVE = "kdrive"
    SWISS_BACKUP = "swiss_backup"
    PUBLIC_CLOUD = "public_cloud"
