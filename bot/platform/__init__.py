"""The message board platform's side: its exports read in as intake messages, and the ledger
(台账) written out. The readers, the row conversion and the ledger writer are pure (files in,
values out); ``importer`` and ``exporter`` drive them against the store for ``liuyan import`` and
``liuyan export`` (imported with those commands, not here)."""

from bot.platform.columns import ColumnError, label, normalise_header
from bot.platform.ledger import LEDGER_FIELDS, LedgerRow, ledger_headers, write_ledger
from bot.platform.readers import RawRow, Table, UnreadableFile, open_table
from bot.platform.rows import (
    ImportRow,
    MessageFile,
    RowError,
    convert_row,
    read_messages,
)

__all__ = [
    "LEDGER_FIELDS",
    "ColumnError",
    "ImportRow",
    "LedgerRow",
    "MessageFile",
    "RawRow",
    "RowError",
    "Table",
    "UnreadableFile",
    "convert_row",
    "label",
    "ledger_headers",
    "normalise_header",
    "open_table",
    "read_messages",
    "write_ledger",
]
