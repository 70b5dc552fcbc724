# SPDX-License-Identifier: BSD-3-Clause
"""Deterministic payload shared by the pod server and the test client.

Byte stream of any length whose every 4 KiB chunk is distinct (a repeated
SHA-256 of the chunk index), so that a lost, duplicated or reordered TCP
segment changes the digest, while producing 100 MB stays cheap in Python.
Standard library only: it runs under /usr/bin/python3 inside namespaces.
"""

import hashlib
import struct

CHUNK = 4096


def chunk(index):
    """The 4 KiB chunk number index."""
    return hashlib.sha256(struct.pack(">Q", index)).digest() * (CHUNK // 32)


def stream(size, block=64 * 1024):
    """Yield the first size bytes of the stream in pieces of about block bytes."""
    per = max(1, block // CHUNK)
    index = 0
    left = size
    while left > 0:
        piece = b"".join(chunk(index + i) for i in range(per))
        index += per
        if len(piece) > left:
            piece = piece[:left]
        left -= len(piece)
        yield piece


_DIGESTS = {}


def sha256(size):
    """Hex SHA-256 of the first size bytes of the stream (memoised)."""
    if size not in _DIGESTS:
        h = hashlib.sha256()
        for piece in stream(size):
            h.update(piece)
        _DIGESTS[size] = h.hexdigest()
    return _DIGESTS[size]
