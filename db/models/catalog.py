"""Partners of the program and the products that live in client organizations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column
from domain.enums import PartnerStatus, ProductStatus


class Partner(IdMixin, CreatedMixin, Base):
    """An organization admitted to the Partner Program."""

    __tablename__ = "partners"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[PartnerStatus] = mapped_column(
        enum_column(PartnerStatus, "partner_status"), default=PartnerStatus.ACTIVE
    )


class Product(IdMixin, CreatedMixin, Base):
    """A product always lives in the client organization, whoever manages or pays for it."""

    __tablename__ = "products"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    family: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[ProductStatus] = mapped_column(
        enum_column(ProductStatus, "product_status"), default=ProductStatus.ACTIVE
    )
    renews_at: Mapped[datetime | None]
