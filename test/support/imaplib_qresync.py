"""A Thunderbird-style QRESYNC reconnect (RFC 7162 §3.2.5) with Python's imaplib, for
test/imap-qresync-imaplib.test.ts.

The client syncs a mailbox, caches its UIDVALIDITY and HIGHESTMODSEQ, goes away while a
second session changes a flag and expunges a message, then reconnects with
SELECT box (QRESYNC (uidvalidity modseq known-uids)) and applies what it is told:
VANISHED (EARLIER) and FETCH (UID FLAGS MODSEQ). Its cache must then equal a full resync.

Usage: imaplib_qresync.py HOST PORT USER PASSWORD
Prints one line per step and the final cache; exits non-zero on any failure.
"""

import imaplib
import re
import sys

imaplib.Commands.setdefault("ENABLE", ("AUTH",))


def connect(host, port, user, password):
    client = imaplib.IMAP4(host, int(port))
    client.login(user, password)
    return client


def ok(result, what):
    typ, data = result
    if typ != "OK":
        raise SystemExit(f"{what}: {typ} {data}")
    return data


def uids_of(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def full_sync(client, box):
    ok(client.select(box), "select")
    data = ok(client.uid("FETCH", "1:*", "(FLAGS)"), "fetch")
    cache = {}
    for item in data:
        line = item.decode() if isinstance(item, bytes) else item[0].decode()
        m = re.search(r"UID (\d+)", line)
        f = re.search(r"FLAGS \(([^)]*)\)", line)
        if m and f:
            cache[int(m.group(1))] = sorted(x for x in f.group(1).split() if x != "\\Recent")
    return cache


def main(host, port, user, password):
    box = "QresyncBox"
    setup = connect(host, port, user, password)
    setup.create(box)
    for n in range(1, 6):
        ok(setup.append(box, None, None, f"Subject: m{n}\r\n\r\nbody {n}\r\n".encode()), "append")
    setup.logout()

    # First visit: a full sync, then UIDVALIDITY and HIGHESTMODSEQ cached.
    client = connect(host, port, user, password)
    ok(client._simple_command("ENABLE", "QRESYNC"), "enable")
    cache = full_sync(client, box)
    uidvalidity = int(client.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
    modseq = int(client.untagged_responses.get("HIGHESTMODSEQ", [b"0"])[-1])
    print(f"first visit: {len(cache)} messages, uidvalidity {uidvalidity}, modseq {modseq}")
    client.logout()

    # Away: another device flags 2, deletes 3 and 5.
    other = connect(host, port, user, password)
    ok(other.select(box), "other select")
    ok(other.uid("STORE", "2", "+FLAGS", "(\\Flagged)"), "other store")
    ok(other.uid("STORE", "3,5", "+FLAGS", "(\\Deleted)"), "other delete")
    ok(other.expunge(), "other expunge")
    other.logout()

    # Back: the quick resync.
    client = connect(host, port, user, password)
    ok(client._simple_command("ENABLE", "QRESYNC"), "enable again")
    known = ",".join(str(u) for u in sorted(cache))
    ok(client._simple_command("SELECT", f"{box} (QRESYNC ({uidvalidity} {modseq} {known}))"), "qresync select")
    vanished = []
    for item in client.untagged_responses.get("VANISHED", []):
        text = item.decode()
        m = re.match(r"\(EARLIER\) (\S+)", text)
        if not m:
            raise SystemExit(f"VANISHED without (EARLIER) during SELECT: {text}")
        vanished.extend(uids_of(m.group(1)))
    changed = 0
    for item in client.untagged_responses.get("FETCH", []):
        line = item.decode() if isinstance(item, bytes) else item[0].decode()
        m = re.search(r"UID (\d+)", line)
        f = re.search(r"FLAGS \(([^)]*)\)", line)
        if not re.search(r"MODSEQ \(\d+\)", line):
            raise SystemExit(f"FETCH without MODSEQ: {line}")
        cache[int(m.group(1))] = sorted(x for x in f.group(1).split() if x != "\\Recent")
        changed += 1
    for uid in vanished:
        cache.pop(uid, None)
    print(f"resync: vanished {','.join(map(str, sorted(vanished)))}; {changed} changed")
    fresh = full_sync(client, box)
    print("cache matches a full sync" if fresh == cache else f"cache differs: {cache} != {fresh}")
    print(f"cache: {sorted(cache.items())}")
    client.logout()
    return 0 if fresh == cache else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
