"""Program use cases: joining, collaborators' rights, absorbed EXTERNAL members, yearly review."""

from resolvers.program.absorption import absorb_external_memberships
from resolvers.program.collaborators import set_collaborator_clients
from resolvers.program.common import UseCaseErrors, require_legal_representative
from resolvers.program.joining import apply_to_partner_program, join_affiliate_program
from resolvers.program.review import run_yearly_review

__all__ = [
    "UseCaseErrors",
    "absorb_external_memberships",
    "apply_to_partner_program",
    "join_affiliate_program",
    "require_legal_representative",
    "run_yearly_review",
    "set_collaborator_clients",
]
