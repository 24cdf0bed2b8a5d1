"""Reading the audit trail: an organization's events, a grant's, and their CSV export."""
