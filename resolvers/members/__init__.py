"""Members of an organization: invitations by email, roles, removal, leaving, listing."""
