"""WeChat's XML messages: parsed with DTDs and entities refused (XXE, billion laughs),
rendered with CDATA that cannot be broken out of. Pure functions."""

from __future__ import annotations

import re
import time
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from web.channels.wechat.crypto import CallbackError

# XML 1.0 forbids most control characters even inside CDATA.
_NOT_XML_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse(body: bytes) -> dict[str, str]:
    """The top-level fields of a `<xml>` message (nested ones, like ScanCodeInfo, skipped)."""
    if not body.strip():
        raise CallbackError("empty body")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise CallbackError("DTDs and entities are not accepted") from None
    except (ParseError, ValueError):
        raise CallbackError("body is not well-formed XML") from None
    if root.tag != "xml":
        raise CallbackError("root element must be <xml>")
    return {child.tag: (child.text or "").strip() for child in root if len(child) == 0}


def cdata(text: str) -> str:
    """`]]>` inside the text is split across two sections, so it cannot end the first."""
    text = _NOT_XML_CHAR.sub("", text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str, now: int | None = None) -> str:
    created = int(time.time()) if now is None else now
    return (f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
            f"<FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{cdata(content)}</Content></xml>")


def encrypted_envelope(encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
    return (f"<xml><Encrypt>{cdata(encrypt)}</Encrypt>"
            f"<MsgSignature>{cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>")
