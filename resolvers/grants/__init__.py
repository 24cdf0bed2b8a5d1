"""Grant use cases: invite, accept, refuse, resend, cancel, edit access, change payment
methods, stop, and expiry of overdue invitations."""

from domain.grants import other_side
from resolvers.grants.access import KEEP, change_payment_methods, edit_access
from resolvers.grants.common import KNOWN_FAMILIES as KNOWN_FAMILIES
from resolvers.grants.invite import InviteTarget, invite
from resolvers.grants.lifecycle import cancel_invitation, resend_invitation, stop_collaboration
from resolvers.grants.lifecycle import expire_invitations as expire_invitations
from resolvers.grants.respond import accept, refuse

__all__ = [
    "KEEP",
    "InviteTarget",
    "accept",
    "cancel_invitation",
    "change_payment_methods",
    "edit_access",
    "invite",
    "other_side",
    "refuse",
    "resend_invitation",
    "stop_collaboration",
]
