#!/usr/bin/env python3
"""tests/soak/logcheck.py DIR NAME OUT STOPFILE: follows the log of tests/soak/chatty.py while
tend writes and rotates it, and checks every line it can read.

DIR/NAME.log is the current file; rotated files are NAME.DAY.N.log, gzipped to .log.gz later
(logs/rotate.c). Rotated files never change, so each is read once, soon after it appears (every
2 s), before `keep` deletes it; the current file is read once, at the end (when STOPFILE exists).
Every line must be `STAMP c SEQ x{60}` with SEQ one more than the line before. Anything else is
recorded with the stamp of the next good line (so the caller can tell a daemon SIGKILL, which
loses what the killed daemon held in memory, from a real loss): `gaps` (lines missing),
`back` (SEQ not above the previous one: duplicated or reordered), `torn` (not a whole line).
A rotated file deleted before it was read (a hole in the numbering) makes the next jump
`unverified`, not lost. The result goes to OUT as JSON (rewritten after every pass).
"""
import datetime, gzip, json, os, re, sys, time

DIR, NAME, OUT, STOP = sys.argv[1:5]
LINE = re.compile(rb"c (\d+) x{60}\Z")
ROT = re.compile(re.escape(NAME) + r"\.(\d{4}-\d{2}-\d{2})\.(\d+)\.log(\.gz)?\Z")

r = {"files": 0, "files_missed": 0, "lines": 0, "first": None, "last": 0, "gaps": [],
     "back": [], "torn": [], "unverified": [], "pending": []}
done = set()
prev_key = None
skip_next_jump = False
pending = []  # anomalies waiting for the next good line's stamp


_cache = [None, None]


def stamp_ms(b):
    if b == _cache[0]:
        return _cache[1]
    _cache[0] = b
    _cache[1] = None
    try:
        _cache[1] = int(datetime.datetime.fromisoformat(b.decode()).timestamp() * 1000)
        return _cache[1]
    except ValueError:
        return None


def good(seq, ms, where):
    global skip_next_jump
    for a in pending:
        a["next_ms"] = ms
    pending.clear()
    last = r["last"]
    if r["first"] is None:
        r["first"] = seq
    elif seq == last + 1:
        pass
    elif seq > last + 1:
        rec = {"after": last, "next": seq, "missing": seq - last - 1, "next_ms": ms, "at": where}
        (r["unverified"] if skip_next_jump else r["gaps"]).append(rec)
    else:
        a = {"after": last, "seq": seq, "next_ms": ms, "at": where}
        r["back_count"] = r.get("back_count", 0) + 1
        if len(r["back"]) < 1000:
            r["back"].append(a)
        return
    skip_next_jump = False
    r["last"] = seq
    r["lines"] += 1


def read(path, where):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    n = 0
    for raw in data.split(b"\n"):
        n += 1
        if not raw:
            continue
        st, _, rest = raw.partition(b" ")
        st = st.rstrip(b":")
        m = LINE.match(rest)
        ms = stamp_ms(st)
        if m and ms is not None:
            good(int(m.group(1)), ms, where)
        else:
            r["torn_count"] = r.get("torn_count", 0) + 1
            if len(r["torn"]) < 1000:
                a = {"at": f"{where}:{n}", "text": raw[:100].decode("utf-8", "replace"),
                     "next_ms": None}
                r["torn"].append(a)
                pending.append(a)
    if data and not data.endswith(b"\n") and len(r["torn"]) < 1000:
        r["torn"].append({"at": f"{where}:end", "text": "file does not end with a newline",
                          "next_ms": None})
        pending.append(r["torn"][-1])


def rotated():
    keys = {}
    for n in os.listdir(DIR):
        m = ROT.match(n)
        if m:
            keys[(m.group(1), int(m.group(2)))] = n
    return keys


def open_rotated(key, name):
    base = os.path.join(DIR, name[:-3] if name.endswith(".gz") else name)
    for p in (base, base + ".gz"):  # compression may rename it while we look
        try:
            read(p, os.path.basename(p))
            return True
        except FileNotFoundError:
            continue
    return False


def contiguous(a, b):
    return a is None or (a[0] == b[0] and b[1] == a[1] + 1) or (a[0] < b[0] and b[1] == 1)


def one_pass():
    global prev_key, skip_next_jump
    keys = rotated()
    for key in sorted(keys):
        if key in done or (prev_key is not None and key < prev_key):
            continue
        if not contiguous(prev_key, key):
            r["files_missed"] += 1
            skip_next_jump = True
        if not open_rotated(key, keys[key]):
            r["files_missed"] += 1
            skip_next_jump = True
        done.add(key)
        prev_key = key
        r["files"] += 1


def save():
    r["pending"] = len(pending)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(r, f)
    os.replace(tmp, OUT)


while not os.path.exists(STOP):
    if os.path.isdir(DIR):
        one_pass()
        save()
    time.sleep(2)
one_pass()
cur = os.path.join(DIR, NAME + ".log")
if os.path.exists(cur):
    read(cur, NAME + ".log")
    r["files"] += 1
save()
