"""Webhooks: endpoints an organization registers, deliveries of its integration events,
signed with the Standard Webhooks scheme and attempted by Dramatiq workers."""
