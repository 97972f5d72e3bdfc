"""The people and places of the config as the database keeps them: regions and units with their chats,
officers with the private chats they started the bot in."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.workflow.context import WorkflowContext
from bot.workflow.items import json_list
from storage.models import ChatState, Item, Officer, Region


def sync_roster(session: Session, wf: WorkflowContext) -> None:
    """Mirror regions and officers of the config into the database (chat ids already migrated
    by the delivery worker are kept: the database knows better than the file)."""
    migrated = {c.chat_id: c.migrated_to for c in session.exec(select(ChatState)) if c.migrated_to}
    for r in wf.config.targets:
        chat_id = r.chat_id
        while chat_id in migrated:
            chat_id = migrated[chat_id]
        kind = "unit" if wf.is_unit(r.code) else "region"
        row = session.get(Region, r.code)
        if row is None:
            session.add(Region(code=r.code, name=r.name, chat_id=chat_id, aliases=json_list(r.aliases), kind=kind))
        else:
            row.name, row.chat_id, row.aliases, row.kind = r.name, chat_id, json_list(r.aliases), kind
    for o in wf.config.officers:
        officer = session.get(Officer, o.user_id)
        if officer is None:
            session.add(Officer(user_id=o.user_id, name=o.name, region=o.region, role=o.role, language=o.language))
        else:
            officer.name, officer.region, officer.role, officer.language = o.name, o.region, o.role, o.language


def remember_private_chat(session: Session, user_id: int, chat_id: int | None) -> None:
    """Where to reach an officer privately (``/start`` in a private chat)."""
    row = session.get(Officer, user_id)
    if row is not None and chat_id is not None:
        row.private_chat_id = chat_id
        session.add(row)


def region_chat(session: Session, wf: WorkflowContext, code: str) -> int:
    """The target's group chat (a region's or a unit's), as migrated (the database's) or as configured."""
    row = session.get(Region, code)
    if row is not None:
        return row.chat_id
    cfg = wf.config.target(code)
    assert cfg is not None, code
    return cfg.chat_id


def item_chat(session: Session, wf: WorkflowContext, item: Item) -> int:
    """The chat where an item's messages go: its target's (region or unit), the desk's while unrouted."""
    return region_chat(session, wf, item.region) if item.region else wf.config.desk.chat_id


def region_of_chat(session: Session, chat_id: int) -> str | None:
    """The region or unit whose group chat this is, if any."""
    row = session.exec(select(Region).where(Region.chat_id == chat_id)).first()
    return row.code if row else None

