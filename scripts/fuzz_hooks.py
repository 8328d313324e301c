"""Schemathesis hooks for scripts/fuzz-api: how to send a resumable upload's piece (raw bytes)."""

import schemathesis


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value).encode("utf-8")
