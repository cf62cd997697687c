"""NTAG 424 DNA Secure Dynamic Messaging (SUN) verification, per NXP AN12196.

A tap on an `nfc_sun` checkpoint opens `/n?e=<PICCData>&c=<SDMMAC>`: `e` is the tag's UID and
read counter, AES-128-CBC encrypted under the SDMMetaReadKey; `c` is an AES-CMAC, under a
session key derived from the SDMFileReadKey, UID and counter, truncated to 8 bytes. A valid
MAC proves the tag itself produced this counter value; whether the counter rose since the last
accepted tap is the caller's business (it needs storage, and this module does no I/O).

Errors carry a stable `code` and no behaviour:

    SunError (sun_error)                   base; a ValueError
    ├── BadLength (bad_length)             `e`/`c`, a UID or a key of the wrong size
    ├── NotHex (not_hex)                   `e`/`c` has a character outside 0-9, a-f, A-F
    ├── BadCounter (bad_counter)           a read counter outside 0..2^24-1
    ├── DecryptFailed (decrypt_failed)     `e` is not PICCData for UID + counter mirroring:
    │   │                                  wrong SDMMetaReadKey, tampered `e`, or a tag
    │   │                                  configured without UID or counter mirroring
    │   └── BadUidLength (bad_uid_length)  the PICCDataTag announces a UID length other than 7
    └── BadMac (bad_mac)                   `c` does not match: wrong SDMFileReadKey or tampered
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import ClassVar

from cryptography.hazmat.primitives.cipher import Cipher  # type: ignore[import-not-found]
