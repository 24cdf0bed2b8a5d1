"""Use cases: load, check with domain, write, emit events. One transaction per mutation."""
