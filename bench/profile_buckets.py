"""Sums a `perf report --sort dso,symbol` listing (stdin) into what the time
goes to, for bench/profile: each line's share goes to the first bucket whose
pattern matches its library or symbol."""

import re
import sys

# (bucket, pattern over "dso symbol"), first match wins.
BUCKETS = [
    ("kernel", r"\[kernel|\[k\]"),
    ("token check (ES256: P-256, ECDSA)", r"p256|primeorder|ecdsa|elliptic_curve|crypto_bigint|jsonwebtoken|jwt"),
    ("hashing (audit chain HMAC, token cache)", r"sha2|hmac|digest::"),
    ("SQLite", r"sqlite3|libsqlite|rusqlite|pcache|\bwal[A-Z]|vdbe|\bbtree[A-Z]|pager[A-Z]|balance_|moveTo|yy_reduce"),
    ("PostgreSQL client", r"postgres|tokio_postgres"),
    ("WASI", r"wasmtime_wasi|cap_std|cap_rand|cap_primitives"),
    ("component model (lifting, lowering, host interfaces)", r"wasmtime::runtime::component|component::func|canon|bindings|interfaces::"),
    ("engine (instances, stores, pool, memory reset)", r"wasmtime|cranelift"),
    ("module code and trampolines", r"\.cwasm|artifacts|//anon|memfd|\[unknown\]|perf-\d+\.map|jitted"),
    ("HTTP (hyper, axum, tower)", r"hyper|axum|tower|http::|httparse|h2::"),
    ("JSON", r"serde_json|serde::"),
    ("tokio", r"tokio"),
    ("tracing", r"tracing"),
    ("malloc and free", r"malloc|\bfree\b|cfree|realloc|calloc|_int_(malloc|free)|tcache|arena_"),
    ("memcpy and memset", r"memmove|memcpy|memset|memcmp"),
    ("libc and threads", r"libc|pthread|futex|syscall"),
    ("the host's own code", r"patchbay"),
]

totals = {}
other = []
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(.*)", line)
    if not m:
        continue
    share, dso, symbol = float(m.group(1)), m.group(2), m.group(3)
    text = f"{dso} {symbol}"
    for name, pattern in BUCKETS:
        if re.search(pattern, text):
            totals[name] = totals.get(name, 0.0) + share
            break
    else:
        totals["other"] = totals.get("other", 0.0) + share
        other.append((share, text.strip()))

for name, share in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"{share:6.1f}%  {name}")
if other:
    print("largest of other:")
    for share, text in sorted(other, reverse=True)[:8]:
        print(f"{share:6.1f}%    {text[:110]}")
