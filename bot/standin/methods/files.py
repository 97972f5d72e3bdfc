"""Photos and documents: multipart uploads, re-sent file ids, ``getFile``."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any

from ..models import BOT_USER, StoredFile, image_size
from ..protocol import ApiError, Params
from .common import (
    after_send,
    chat_for_call,
    check_may_send,
    format_text,
    markup,
    rate_check,
    reply_target,
    send_thread,
)

if TYPE_CHECKING:
    from ..server import BotApiStandin

PHOTO_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024


def store_upload(api: BotApiStandin, params: Params, field_name: str, *, photo: bool) -> StoredFile:
    upload = params.files.get(field_name)
    if upload is None:
        ref = params.get_str(field_name)
        if not ref:
            raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        if ref.startswith("attach://"):
            upload = params.files.get(ref[len("attach://"):])
            if upload is None:
                raise ApiError(400, f"Bad Request: file {ref} not found")
        elif ref in api._files:
            return api._files[ref]
        elif ref.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
    if not upload.data:
        raise ApiError(400, "Bad Request: file must be non-empty")
    width = height = None
    if photo:
        if len(upload.data) > PHOTO_MAX_BYTES:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        size = image_size(upload.data)
        if size is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        width, height = size
        if width <= 0 or height <= 0 or width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    elif len(upload.data) > DOCUMENT_MAX_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    seq = next(api._file_seq)
    mime = upload.content_type
    if not mime or mime == "application/octet-stream":
        mime = (mimetypes.guess_type(upload.filename or "")[0] if upload.filename else None) or mime
    folder, prefix = ("photos", "AgACAgIAAxk") if photo else ("documents", "BQACAgIAAxk")
    ext = ""
    if upload.filename and "." in upload.filename:
        ext = "." + upload.filename.rsplit(".", 1)[1]
    elif photo:
        ext = ".jpg"
    stored = StoredFile(
        file_id=f"{prefix}{seq:012d}standin",
        file_unique_id=f"AQAD{seq:08d}",
        data=upload.data,
        file_name=None if photo else (upload.filename or None),
        mime_type=None if photo else mime,
        width=width,
        height=height,
        file_path=f"{folder}/file_{seq}{ext}",
    )
    api._files[stored.file_id] = stored
    return stored


async def _send_media(api: BotApiStandin, p: Params, method: str, field_name: str) -> dict[str, Any]:
    chat = chat_for_call(api, p)
    check_may_send(chat, field_name)
    photo = field_name == "photo"
    visible, raw, parse_mode, ents = format_text(api, p, "caption", "caption_entities", caption=True)
    inline, sent_markup = markup(p)
    reply_to = reply_target(chat, p)
    thread_id = send_thread(chat, p, reply_to)
    stored = store_upload(api, p, field_name, photo=photo)
    rate_check(api, chat, send=True)
    msg = api._add_message(
        chat, from_bot=True, sender=BOT_USER, kind=field_name, text=visible,
        html=raw if p.has("caption") else None, parse_mode=parse_mode, entities=ents,
        reply_markup=inline, sent_reply_markup=sent_markup, reply_to=reply_to, file=stored,
        thread_id=thread_id,
    )
    return after_send(api, method, chat, msg)


async def send_photo(api: BotApiStandin, p: Params) -> dict[str, Any]:
    return await _send_media(api, p, "sendPhoto", "photo")


async def send_document(api: BotApiStandin, p: Params) -> dict[str, Any]:
    return await _send_media(api, p, "sendDocument", "document")


async def get_file(api: BotApiStandin, p: Params) -> dict[str, Any]:
    file_id = p.get_str("file_id") or ""
    stored = api._files.get(file_id)
    if stored is None:
        raise ApiError(400, "Bad Request: invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.file_path,
    }


METHODS = {"sendPhoto": send_photo, "sendDocument": send_document, "getFile": get_file}
