"""WeChat callback signatures and message encryption (Official Account safe mode and WeCom).

The scheme, as Tencent documents it: signature = sha1 of the sorted strings (token,
timestamp, nonce[, Encrypt]); AES-256-CBC with key = base64(EncodingAESKey + "="),
iv = key[:16], plaintext = 16 random bytes + 4-byte big-endian length + message + receive
id (AppID or CorpID), PKCS#7-padded to 32-byte blocks. Pure functions; no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32


class CallbackError(Exception):
    """A callback that must be refused; `status` is the HTTP status to answer with."""

    status = 400


class SignatureError(CallbackError):
    status = 403


class ReceiverMismatch(CallbackError):
    """Decrypted fine, but for another AppID/CorpID."""

    status = 403


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *extra])).encode()).hexdigest()


def signature_matches(given: str, token: str, timestamp: str, nonce: str, *extra: str) -> bool:
    """Constant-time: the time taken does not tell an attacker how much of it was right."""
    expected = sign(token, timestamp, nonce, *extra)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "replace"))


class MessageCipher:
    """Encrypts replies and decrypts callbacks for one account."""

    def __init__(self, encoding_aes_key: str, receive_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            key = b""
        if len(key) != 32:
            raise ValueError("EncodingAESKey must be 43 base64 characters (a 32-byte key)")
        self._key = key
        self.receive_id = receive_id

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        random16 = os.urandom(16) if random16 is None else random16
        body = message.encode()
        plain = random16 + struct.pack(">I", len(body)) + body + self.receive_id.encode()
        pad = PAD_BLOCK - len(plain) % PAD_BLOCK
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(sealed).decode()

    def decrypt(self, ciphertext: str) -> str:
        """The message, after checking padding, length and the receive id."""
        try:
            sealed = base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackError("Encrypt is not valid base64") from None
        if not sealed or len(sealed) % 16:
            raise CallbackError("Encrypt is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(sealed) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackError("Encrypt does not decrypt (wrong key or damaged)")
        content = plain[16:-pad]
        if len(content) < 4:
            raise CallbackError("decrypted message is too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise CallbackError("decrypted message length is wrong")
        receive_id = content[4 + length:]
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise ReceiverMismatch("message is for another AppID/CorpID")
        try:
            return content[4:4 + length].decode()
        except UnicodeDecodeError:
            raise CallbackError("decrypted message is not UTF-8") from None

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))
