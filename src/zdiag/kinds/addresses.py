"""One canonical text for an IP address, shared by every kind, so that tables from different
reports join on addresses (a netstat connection and the packets of the same connection)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import polars as pl


@lru_cache(maxsize=1 << 16)
def _canonical(text: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        ip = ipaddress.ip_address(stripped.split("%")[0])  # a %zone suffix is dropped
    except ValueError:
        return text  # not an address (masked x.x.x.x, *, a host name): as printed
    mapped = getattr(ip, "ipv4_mapped", None)
    # RFC 5952 §5: IPv4-mapped addresses keep their dotted tail (Python < 3.13 prints hex)
    return f"::ffff:{mapped}" if mapped is not None else str(ip)


def canonical_ip(text: object) -> str | None:
    """``ipaddress``'s canonical text of an address (IPv4-mapped ones as ``::ffff:a.b.c.d``,
    a ``%zone`` dropped); anything else as printed; None for no text."""
    if not isinstance(text, str):  # None, NaN, pandas' NA: no text
        return None
    return _canonical(text)


def canonical_ips(col: pl.Series) -> pl.Series:
    """:func:`canonical_ip` over a polars text column, once per distinct value."""
    uniq = col.unique().drop_nulls().to_list()
    return col.replace_strict({u: canonical_ip(u) for u in uniq}, default=None,
                              return_dtype=pl.String)  # fmt: skip
