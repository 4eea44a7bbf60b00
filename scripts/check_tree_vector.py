#!/usr/bin/env python3
"""Independent check of a tree-form bundle (docs/draw-spec.md B.18), written from the
document with hashlib and `cryptography`'s ChaCha20 only (the beacon's BLS signature is not
checked here: its value is taken as H(signature), B.3).

    python3 scripts/check_tree_vector.py BUNDLE.json [LIST.csv SALT_HEX]

Checks the pool hash, the seed, every disclosed path, the draw (pick / cap loop over indices,
group by group) against the result, and with the list and salt every tree's root and size.
Exits 1 with the reason on the first difference."""
import csv, hashlib, json, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

def canonical(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

def H(b):
    return hashlib.sha256(b).digest()

class Stream:
    def __init__(self, key):
        self.enc = Cipher(algorithms.ChaCha20(key, b"\0" * 16), mode=None).encryptor()
    def next_u64(self):
        return int.from_bytes(self.enc.update(b"\0" * 8), "little")
    def uniform(self, m):
        t = (1 << 64) % m
        while True:
            r = self.next_u64()
            if r >= t:
                return r % m

def derive(seed, label, *parts):
    return H(seed + label.encode() + b"".join(b"\0" + p.encode() for p in parts))

def node(l, r):
    return H(b"\1" + l + r)

def mth(leaves):                       # RFC 9162 2.1.1, literally
    if not leaves:
        return H(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))

def verify_path(leaf, index, size, path, root):   # RFC 9162 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1; sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1; sn >>= 1
    return sn == 0 and r == root

def leaf_hash(member_hex, cap_hex):
    return H(b"\0" + bytes.fromhex(member_hex) + (bytes.fromhex(cap_hex) if cap_hex else b""))

def size_of(n, s):
    k = -(-n * s["ratio"]["num"] // s["ratio"]["den"])
    if s["max"] is not None:
        k = min(k, s["max"])
    return min(max(k, s["min"]), n)

def fail(msg):
    print("MISMATCH:", msg)
    sys.exit(1)

b = json.load(open(sys.argv[1], encoding="utf-8"))
snap, rec = b["snapshot"], b["snapshot"]["records"]
pool_hash = H(canonical(snap)).hex()
if pool_hash != b["result"]["pool_hash"]:
    fail("pool hash")
ent = [{"source": e["source"], "value": e["value"]} for e in b["entropy"]]
if b["beacon"]:
    ent.append({"source": "beacon:drand-quicknet", "value": H(bytes.fromhex(b["beacon"]["signature"])).hex()})
ent.sort(key=lambda e: e["source"])
seed = H(canonical({"spec": "suiji-draw/2", "pool_hash": pool_hash, "entropy": ent, "forfeited": b["forfeited"]}))
if seed.hex() != b["result"]["seed"]:
    fail("seed")

disclosed = {}
for m in b["members"]:
    rs = next(r for r in rec["strata"] if r["stratum"] == m["stratum"])
    t = next(t for t in rs["trees"] if t["group"] == m["group"])
    if not verify_path(leaf_hash(m["member"], m["cap_value"]), m["index"], t["size"],
                       [bytes.fromhex(p) for p in m["path"]], bytes.fromhex(t["root"])):
        fail(f"path of {m['member']}")
    disclosed[(m["stratum"], m["group"], m["index"])] = m

selections, used = [], 0
for s, rs in zip(snap["strata"], rec["strata"]):
    for t in rs["trees"]:
        n = t["size"]; k = size_of(n, s)
        parts = [s["id"]] + ([t["group"]] if t["group"] else [])
        rng = Stream(derive(seed, "stratum", *parts))
        a = {}                                   # sparse Fisher-Yates
        taken, chosen, i = {}, [], 0
        while len(chosen) < k and i < n:
            j = i + rng.uniform(n - i)
            ai, aj = a.get(i, i), a.get(j, j)
            a[i], a[j] = aj, ai
            m = disclosed.get((s["id"], t["group"], aj))
            if m is None:
                fail(f"index {aj} of {s['id']} not disclosed")
            used += 1
            if rs.get("cap"):
                v = m["cap_value"]
                if taken.get(v, 0) >= rs["cap"]["max"]:
                    i += 1
                    continue
                taken[v] = taken.get(v, 0) + 1
            chosen.append(m["member"])
            i += 1
        selections += [(s["id"], x) for x in chosen]
if used != len(b["members"]):
    fail("a disclosed member was not considered")
got = [(x["stratum"], x["institution"]) for x in b["result"]["selections"]]
if got != selections or [x["order"] for x in b["result"]["selections"]] != list(range(1, len(got) + 1)):
    fail("selections differ")
if H(canonical(b["result"])).hex() != b["result_hash"]:
    fail("result_hash")

if len(sys.argv) > 3:
    salt = bytes.fromhex(open(sys.argv[3]).read().strip()) if not all(c in "0123456789abcdef" for c in sys.argv[3]) else bytes.fromhex(sys.argv[3])
    rows = list(csv.reader(open(sys.argv[2], encoding="utf-8")))
    head, rows = rows[0], rows[1:]
    col = {c: i for i, c in enumerate(head)}
    vh = lambda c, text: H(salt + c.encode() + b"\0" + text.encode()).hex()
    trees = [dict() for _ in rec["strata"]]
    for r in rows:
        for si, rs in enumerate(rec["strata"]):
            if all(r[col[c["column"]]] in c["values"] for c in rs["where"]):
                g = vh(rs["group"]["column"], r[col[rs["group"]["column"]]]) if rs.get("group") else None
                c = vh(rs["cap"]["column"], r[col[rs["cap"]["column"]]]) if rs.get("cap") else None
                trees[si].setdefault(g, []).append((H(salt + r[col[rec["id_column"]]].encode()).hex(), c))
                break
    for rs, tr in zip(rec["strata"], trees):
        if rs.get("group") is None:
            tr.setdefault(None, [])
        mine = [{"group": g, "size": len(v), "root": mth([leaf_hash(m, c) for m, c in sorted(v)]).hex()}
                for g, v in sorted(tr.items(), key=lambda x: x[0] or "")]
        if mine != rs["trees"]:
            fail(f"trees of stratum {rs['stratum']} differ from the list")
    print("list: every tree recomputed")
print("consistent", pool_hash, seed.hex(), b["result_hash"], len(got), "selections", len(b["members"]), "disclosed")
