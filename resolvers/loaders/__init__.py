"""Per-request DataLoaders, one home: the shared ``BatchLoaders`` base and the core set
(``core``), and the bids' and commerce's sets (``bids``, ``commerce``)."""

from resolvers.loaders.core import BatchLoaders, Loaders

__all__ = ["BatchLoaders", "Loaders"]
