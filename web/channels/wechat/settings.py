"""The WeChat channel's settings (FAQBOT_WECHAT_*, FAQBOT_WECOM_*), read from the same
environment as the core's: the channel is off unless an account is configured. One Official
Account and one WeCom app by the flat variables; any number by FAQBOT_WECHAT_ACCOUNTS (a
JSON list)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WeChatAccount(BaseModel):
    """One Official Account ('mp') or WeCom self-built app ('wecom') the bot answers for."""

    kind: Literal["mp", "wecom"]
    name: str = Field("default", pattern=r"^[A-Za-z0-9_-]{1,32}$",
                      description="Tells accounts apart in logs and sessions.")
    token: str = Field(pattern=r"^[A-Za-z0-9]{3,32}$", description="The callback Token.")
    aes_key: str | None = Field(None, description="EncodingAESKey (43 characters); required "
                                "for safe mode and for WeCom.")
    app_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$",
                        description="AppID (Official Account) or CorpID (WeCom): the receive "
                        "id checked in every decrypted message.")
    agent_id: str | None = Field(None, pattern=r"^[0-9]{1,20}$",
                                 description="WeCom AgentID; messages for another app are "
                                 "refused.")
    accept_plaintext: bool = Field(
        False, description="WeChat's 'compatible mode': an Official Account with an AES key "
        "also accepts unencrypted callbacks. Weaker: their signature does not cover the "
        "message, so their sender cannot be checked (each signed URL is still accepted "
        "once). Off: only safe-mode messages, signed over their ciphertext.")

    @field_validator("aes_key")
    @classmethod
    def _aes_key_shape(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 43 or not value.isalnum()):
            raise ValueError("EncodingAESKey must be 43 letters and digits")
        return value

    @model_validator(mode="after")
    def _wecom_is_encrypted(self) -> WeChatAccount:
        if self.kind == "wecom" and self.aes_key is None:
            raise ValueError("a WeCom app needs its EncodingAESKey (aes_key)")
        return self


class WeChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FAQBOT_", extra="ignore")

    wechat_mp_token: str | None = None
    wechat_mp_aes_key: str | None = None
    wechat_mp_app_id: str | None = None
    wechat_mp_accept_plaintext: bool = False
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wechat_accounts: list[WeChatAccount] = Field(
        default_factory=list, description='e.g. [{"kind": "mp", "name": "clinic", "token": '
        '"...", "aes_key": "...", "app_id": "wx..."}]')
    wechat_max_clock_skew_seconds: int = Field(
        300, ge=1, description="Callbacks whose timestamp is further from now are refused "
        "(replays).")
    wechat_reply_budget_seconds: float = Field(
        4.0, gt=0, lt=5, description="An answer not ready by then gets 'success' (WeChat "
        "waits 5 s, then retries).")

    def account_list(self) -> list[WeChatAccount]:
        """Every configured account: the flat variables' ones first, then the JSON list."""
        accounts = []
        if self.wechat_mp_token or self.wechat_mp_app_id:
            accounts.append(WeChatAccount(kind="mp", token=self.wechat_mp_token or "",
                                          aes_key=self.wechat_mp_aes_key,
                                          app_id=self.wechat_mp_app_id or "",
                                          accept_plaintext=self.wechat_mp_accept_plaintext))
        if self.wecom_token or self.wecom_corp_id:
            accounts.append(WeChatAccount(kind="wecom", token=self.wecom_token or "",
                                          aes_key=self.wecom_aes_key,
                                          app_id=self.wecom_corp_id or "",
                                          agent_id=self.wecom_agent_id))
        return accounts + list(self.wechat_accounts)
