"""The program around partnerships: joining, directory, collaborators, support, backup."""

from schema.program.mutations import ProgramMutations
from schema.program.nodes import PROGRAM_TYPES
from schema.program.queries import ProgramQueries

__all__ = ["PROGRAM_TYPES", "ProgramMutations", "ProgramQueries"]
