"""Bid use cases: posting and verification, matching, fan-out, offers and award, expiry, reads."""

from resolvers.bids.common import PARTNER_ROLES
from resolvers.bids.expiry import expire_bids
from resolvers.bids.fan_out import (
    DEFAULT_CHUNK_SIZE,
    DELIVER_BID_CHUNK,
    FAN_OUT_BID,
    ChunkRange,
    chunk_boundaries,
    deliver_chunk,
    plan_fan_out,
)
from resolvers.bids.matching import matching_partners
from resolvers.bids.offers import award_offer, make_offer
from resolvers.bids.posting import post_bid, verify_bid_email
from resolvers.bids.queries import authored_bids_page, bid_by_author_token, received_bids_page

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DELIVER_BID_CHUNK",
    "FAN_OUT_BID",
    "PARTNER_ROLES",
    "ChunkRange",
    "authored_bids_page",
    "award_offer",
    "bid_by_author_token",
    "chunk_boundaries",
    "deliver_chunk",
    "expire_bids",
    "make_offer",
    "matching_partners",
    "plan_fan_out",
    "post_bid",
    "received_bids_page",
    "verify_bid_email",
]
