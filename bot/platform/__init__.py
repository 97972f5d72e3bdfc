"""The message board platform's side: its exports read in as intake messages, and the ledger
(台账) written out. Pure: files in, values out; nothing here stores or sends."""

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
