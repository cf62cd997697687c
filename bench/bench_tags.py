"""Patrol tag verification benchmark, a ratio measured in one run on this machine:

- 100,000 verifications, half NTAG 424 DNA SUN taps (`verify_sun`) and half Eddystone-EID
  sightings (`resolve_eid`, window ±1), vs the bare AES operations they cannot avoid, done with
  the same `cryptography` calls on the same inputs: per tap one AES-CBC block decryption and two
  AES-CMACs, per sighting one temporary key and three EID encryptions (AES-128-ECB). The ratio
  `verify / bare` is what parsing, checks and constant-time comparison add (no budget yet).
"""

from __future__ import annotations

import random
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from backend.services import eid, sun

VERIFICATIONS = 100_000
TAGS = 200
K = 9
WINDOW = 1

Taps = list[tuple[str, str, bytes, bytes]]
Sightings = list[tuple[bytes, bytes, int]]


def _make_taps(rng: random.Random, count: int) -> Taps:
    keys = [(rng.randbytes(16), rng.randbytes(16), b"\x04" + rng.randbytes(6)) for _ in range(TAGS)]
    taps = []
    for i in range(count):
        meta_key, file_key, uid = keys[i % TAGS]
        counter = i // TAGS + 1
        plain = b"\xc7" + uid + counter.to_bytes(3, "little") + rng.randbytes(5)
        encryptor = Cipher(algorithms.AES(meta_key), modes.CBC(bytes(16))).encryptor()
        enc = encryptor.update(plain) + encryptor.finalize()
        mac = sun.sdm_mac(sun.session_mac_key(file_key, uid, counter))
        taps.append((enc.hex().upper(), mac.hex().upper(), meta_key, file_key))
    return taps


def _make_sightings(rng: random.Random, count: int) -> Sightings:
    keys = [rng.randbytes(16) for _ in range(TAGS)]
    sightings = []
    for i in range(count):
        ik = keys[i % TAGS]
        # Away from a 65,536-s boundary, so one temporary key serves all three candidates.
        now = rng.randrange(1, 60_000) * 65536 + rng.randrange(1024, 64_000)
        shown = eid.compute_eid(ik, K, now + rng.choice([-1, 0, 1]) * (1 << K))
        sightings.append((shown, ik, now))
    return sightings


def _verify(taps: Taps, sightings: Sightings) -> float:
    # Interleaved, as a patrol server sees them.
    start = time.perf_counter()
    for (e, c, meta_key, file_key), (shown, ik, now) in zip(taps, sightings, strict=True):
        sun.verify_sun(e, c, meta_key, file_key)
        if eid.resolve_eid(shown, ik, K, now, WINDOW) is None:
            raise AssertionError("a fresh EID did not resolve")
    return time.perf_counter() - start


def _bare(taps: Taps, sightings: Sightings) -> float:
    # Inputs prepared outside the timing: only the AES work itself is measured.
    sun_inputs = []
    for e, _, meta_key, file_key in taps:
        enc = bytes.fromhex(e)
        picc = sun.decrypt_picc_data(enc, meta_key)
        sv2 = bytes.fromhex("3CC300010080") + picc.uid + picc.read_counter.to_bytes(3, "little")
        sun_inputs.append((enc, meta_key, file_key, sv2))
    eid_inputs = []
    for _, ik, now in sightings:
        tk_block = bytes(11) + b"\xff" + bytes(2) + (now >> 16).to_bytes(2, "big")
        blocks = [
            bytes(11) + bytes([K]) + ((now + d * (1 << K)) >> K << K).to_bytes(4, "big")
            for d in range(-WINDOW, WINDOW + 1)
        ]
        eid_inputs.append((ik, tk_block, blocks))

    zero_iv = modes.CBC(bytes(16))
    ecb = modes.ECB()
    start = time.perf_counter()
    for (enc, meta_key, file_key, sv2), (ik, tk_block, blocks) in zip(
        sun_inputs, eid_inputs, strict=True
    ):
        decryptor = Cipher(algorithms.AES(meta_key), zero_iv).decryptor()
        decryptor.update(enc)
        decryptor.finalize()
        mac = CMAC(algorithms.AES(file_key))
        mac.update(sv2)
        session = mac.finalize()
        mac = CMAC(algorithms.AES(session))
        mac.finalize()
        encryptor = Cipher(algorithms.AES(ik), ecb).encryptor()
        tk = encryptor.update(tk_block) + encryptor.finalize()
        for block in blocks:
            encryptor = Cipher(algorithms.AES(tk), ecb).encryptor()
            encryptor.update(block)
            encryptor.finalize()
    return time.perf_counter() - start


def main() -> None:
    rng = random.Random(424)
    half = VERIFICATIONS // 2
    taps = _make_taps(rng, half)
    sightings = _make_sightings(rng, VERIFICATIONS - half)
    bare = _bare(taps, sightings)
    verified = _verify(taps, sightings)
    print(
        f"tag verification: {VERIFICATIONS:,} ({len(taps):,} SUN taps, {len(sightings):,} EID "
        f"sightings, window ±{WINDOW}) in {verified:.2f} s ({VERIFICATIONS / verified:,.0f}/s); "
        f"bare AES/CMAC {bare:.2f} s; ratio verify / bare {verified / bare:.2f} (no budget yet)"
    )


if __name__ == "__main__":
    main()
