"""WeChat's side of a callback: messages signed (and encrypted) the way WeChat sends them,
and replies opened the way WeChat reads them. For the tests and bench/wechat_sim.py: try
the channel without a WeChat account."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Literal

from web.channels.wechat import messages
from web.channels.wechat.crypto import MessageCipher, SignatureError, sign, signature_matches

_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


@dataclass
class SimulatedWeChat:
    kind: Literal["mp", "wecom"]
    token: str
    app_id: str  # AppID or CorpID
    aes_key: str | None = None
    encrypt: bool = True  # Official Account only; WeCom always encrypts
    agent_id: str | None = None
    account_user: str = "gh_0123456789ab"  # the account's own id (ToUserName); WeCom: CorpID
    _cipher: MessageCipher | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.kind == "wecom":
            self.encrypt = True
            self.account_user = self.app_id
        if self.encrypt:
            if not self.aes_key:
                raise ValueError("encryption needs the EncodingAESKey")
            self._cipher = MessageCipher(self.aes_key, self.app_id)

    @property
    def path(self) -> str:
        return "/wechat/mp" if self.kind == "mp" else "/wechat/work"

    # ------------------------------------------------------------ messages
    def message(self, msg_type: str, user: str = "oSimulatedUser0000000000001", *,
                msg_id: str | None = None, create_time: int | None = None, **fields: str) -> str:
        parts = {"ToUserName": self.account_user, "FromUserName": user,
                 "CreateTime": str(create_time or int(time.time())), "MsgType": msg_type,
                 **fields}
        if msg_type != "event":
            parts["MsgId"] = msg_id or str(next(_msg_ids))
        if self.kind == "wecom" and self.agent_id:
            parts["AgentID"] = self.agent_id
        inner = "".join(f"<{k}>{messages.cdata(v)}</{k}>" for k, v in parts.items())
        return f"<xml>{inner}</xml>"

    def text(self, content: str, user: str = "oSimulatedUser0000000000001", **kw) -> str:
        return self.message("text", user, Content=content, **kw)

    # ------------------------------------------------------------ requests
    def request(self, message_xml: str, timestamp: int | None = None
                ) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of the POST WeChat would send."""
        ts, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
        params = {"timestamp": ts, "nonce": nonce}
        if self.kind == "mp":
            params["signature"] = sign(self.token, ts, nonce)
            params["openid"] = "o" + "x" * 27
        if not self.encrypt:
            return params, message_xml.encode()
        assert self._cipher is not None
        encrypted = self._cipher.encrypt(message_xml)
        params["msg_signature"] = sign(self.token, ts, nonce, encrypted)
        if self.kind == "mp":
            params["encrypt_type"] = "aes"
        envelope = (f"<xml><ToUserName>{messages.cdata(self.account_user)}</ToUserName>"
                    f"<Encrypt>{messages.cdata(encrypted)}</Encrypt></xml>")
        return params, envelope.encode()

    def verification(self, echostr: str, timestamp: int | None = None) -> dict[str, str]:
        """Query parameters of the GET that verifies the callback URL."""
        ts, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
        if self.kind == "mp":
            return {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce,
                    "echostr": echostr}
        assert self._cipher is not None
        sealed = self._cipher.encrypt(echostr)
        return {"msg_signature": sign(self.token, ts, nonce, sealed), "timestamp": ts,
                "nonce": nonce, "echostr": sealed}

    # ------------------------------------------------------------ replies
    def open_reply(self, body: bytes) -> dict[str, str]:
        """The reply's fields ({} for "success"), decrypted and signature-checked."""
        if body.strip() in (b"", b"success"):
            return {}
        fields = messages.parse(body)
        if "Encrypt" not in fields:
            return fields
        assert self._cipher is not None
        if not signature_matches(fields.get("MsgSignature", ""), self.token,
                                 fields.get("TimeStamp", ""), fields.get("Nonce", ""),
                                 fields["Encrypt"]):
            raise SignatureError("reply signature does not match")
        return messages.parse(self._cipher.decrypt(fields["Encrypt"]).encode())
