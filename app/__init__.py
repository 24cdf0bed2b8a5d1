"""Composition root: configuration, the ASGI application and the command line."""
