"""Background jobs: Dramatiq broker and actors, the transactional outbox, emails.

- ``workers.broker``: ``setup_broker(settings)`` (call once at start-up, before sending).
- ``workers.outbox``: ``process_once``, ``outbox_actor``, ``relay_pending``, ``Sweeper``,
  ``kick`` (the API's ``after_commit``).
- ``workers.runtime``: the worker's database engine per event loop; in-process worker.
- ``workers.email``: templates, rendering, delivery, the ``send_email`` actor.
- ``workers.actors``: what ``dramatiq workers.actors`` loads (broker, then actors).

Nothing is imported here, so importing a submodule has no side effect on the broker.
"""
