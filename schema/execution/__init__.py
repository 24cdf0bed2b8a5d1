"""Field execution with a fast path for plain subtrees (see `executor`)."""

from schema.execution.executor import FastExecutor

__all__ = ["FastExecutor"]
