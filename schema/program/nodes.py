"""The program's node types, which the schema registers."""

from __future__ import annotations

from schema.program.applications import PartnerApplication
from schema.program.backup import BackupAccount, BackupCustomer
from schema.program.directory import DirectoryEntry
from schema.program.support import SupportAccess

PROGRAM_TYPES: list[type] = [
    BackupAccount,
    BackupCustomer,
    DirectoryEntry,
    PartnerApplication,
    SupportAccess,
]
