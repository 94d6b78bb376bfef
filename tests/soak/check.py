#!/usr/bin/env python3
"""tests/soak/check.py S MINUTES: reads what tests/soak/run.sh left in its work folder S, prints
the summary table and every violation, exits 1 if there is one.

Bounds (the run's first window is compared with its last; a window is 5 minutes, or a third of
a shorter run):
  - fds: the largest count in the last window is at most the largest of the first + 4;
  - RSS: the largest in the last window is at most 1.25 x the largest of the first + 2 MiB;
  - chatty: lines may be missing or torn only where a SIGKILLed daemon lost what it held in
    memory (the next good line was read within 15 s after a kill), or as many as were dropped
    and counted; never duplicated or out of order; the last line written is in the log;
  - web: each of its 4 ports held by exactly one process in every sample, same pids throughout;
  - webhook: one firing message (and at most one resolved) per firing of extra-down, and one
    for each alert_firing event;
  - backups: each one kept verifies, its sha256 matches with standard tools, and the newest
    restores to a copy identical to the source folder.
"""
import json, os, sqlite3, sys

S, MINUTES = sys.argv[1], float(sys.argv[2])
V = [l.strip() for l in open(os.path.join(S, "violations")) if l.strip()]
P = lambda *a: os.path.join(S, *a)  # noqa: E731


def jload(name, default):
    try:
        return json.load(open(P(name)))
    except (OSError, ValueError):
        return default


samples = [json.loads(l) for l in open(P("samples.jsonl")) if l.strip()]
actions = [l.split() for l in open(P("actions.log"))]
kills = [int(a[0]) for a in actions if a[1] == "kill"]
restarts_at = [int(a[0]) for a in actions if a[1] == "restart"]
t0, t1 = samples[0]["t"], samples[-1]["t"]
win = min(300.0, MINUTES * 60 / 3)
live = [s for s in samples if s.get("pid")]
first = [s for s in live if s["t"] <= t0 + win]
last = [s for s in live if s["t"] >= t1 - win]
MiB = lambda kb: kb / 1024  # noqa: E731

# ---- daemon figures -------------------------------------------------------------------------
rss = [s["rss_kb"] for s in live]
fds = [s["fds"] for s in live]
if max(s["fds"] for s in last) > max(s["fds"] for s in first) + 4:
    V.append(f"fd growth: max {max(s['fds'] for s in first)} in the first {win:.0f} s, "
             f"{max(s['fds'] for s in last)} in the last")
if max(s["rss_kb"] for s in last) > 1.25 * max(s["rss_kb"] for s in first) + 2048:
    V.append(f"RSS growth: max {MiB(max(s['rss_kb'] for s in first)):.1f} MiB in the first "
             f"{win:.0f} s, {MiB(max(s['rss_kb'] for s in last)):.1f} MiB in the last")
cpu_s = wall = 0.0
for a, b in zip(live, live[1:]):
    if a["pid"] == b["pid"]:
        cpu_s += (b["cpu_ticks"] - a["cpu_ticks"]) / b["tick"]
        wall += b["t"] - a["t"]
lat = sorted(s["status_ms"] for s in samples)
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
bad_status = [s for s in samples if s.get("status_rc") != 0]
if bad_status:
    V.append(f"{len(bad_status)} `tend status` calls failed, first: "
             f"{bad_status[0].get('status_err', bad_status[0].get('status_rc'))}")
if lat[-1] > 10000:
    V.append(f"`tend status` took {lat[-1]:.0f} ms once (bound 10 s)")

# ---- instances ------------------------------------------------------------------------------
webpids = open(P("webpids")).read().split()
for s in samples:
    for port in ("32600", "32601", "32602", "32603"):
        if s["ports"].get(port, 0) != 1:
            V.append(f"sample at +{s['t'] - t0:.0f}s: {s['ports'].get(port, 0)} processes "
                     f"with PORT={port}")
    web = s.get("apps", {}).get("web")
    if web is not None and sorted(str(i[1]) for i in web) != sorted(webpids):
        V.append(f"sample at +{s['t'] - t0:.0f}s: web pids {[i[1] for i in web]}, "
                 f"started as {webpids}")
zseen = {}
for s in samples:
    for z in s["zombies"]:
        zseen[z] = zseen.get(z, 0) + 1
stuck = [z for z, n in zseen.items() if n > 1]
if stuck:
    V.append(f"zombies seen in more than one sample: {stuck}")
final = jload("status-final.json", {"apps": []})
fapps = {a["name"]: a["instances"] for a in final["apps"]}
cfg = open(P("final-config")).read().strip()
want = {"web": 4, "chatty": 1, "crashy": 1, "rel": 2}
if cfg == "A":
    want["extra"] = 1
for app, n in want.items():
    if len(fapps.get(app, [])) != n:
        V.append(f"final status: {app} has {len(fapps.get(app, []))} instances, config {cfg} "
                 f"says {n}")
if cfg == "B" and "extra" in fapps:
    V.append("final status: extra is still there though config B removed it")
fports = samples[-1]["ports"]
for port, n in [("32610", 1), ("32611", 1), ("32620", 1 if cfg == "A" else 0)]:
    if fports.get(port, 0) != n:
        V.append(f"last sample: {fports.get(port, 0)} processes with PORT={port}, want {n}")
web_restarts = sum(i["restarts"] for i in fapps.get("web", []))
if web_restarts:
    V.append(f"web restarted {web_restarts} times (it never should)")

# ---- events: crashes, reloads, backups, alerts ---------------------------------------------
# events straight from tend.db (read-only, after `tend kill`): the API gives 10000 at most
kinds = {}
try:
    db = sqlite3.connect(f"file:{P('home', 'tend.db')}?mode=ro", uri=True)
    for k, a, n in db.execute("SELECT kind, app, count(*) FROM events GROUP BY kind, app"):
        kinds[(k, a)] = n
    db.close()
except sqlite3.Error as e:
    V.append(f"cannot read the events from tend.db: {e}")
crashy_starts = kinds.get(("restart", "crashy"), 0)
crashy_seen = max([i[3] for s in samples for i in s.get("apps", {}).get("crashy", [])] or [0])
reloads = [a for a in actions if a[1] == "reload"]
reload_ok = sum(a[3] == "0" for a in reloads)
ups = [a for a in actions if a[1] == "up"]
evkind = lambda k: sum(n for (kk, _a), n in kinds.items() if kk == k)  # noqa: E731

hooks = []
for l in open(P("hooks.jsonl")) if os.path.exists(P("hooks.jsonl")) else []:
    try:
        hooks.append(json.loads(l))
    except ValueError:
        V.append(f"webhook body is not JSON: {l[:100]}")
msgs = {}
for h in hooks:
    for a in h.get("alerts", []):
        key = (a["name"], a.get("started_ms"), a["status"])
        msgs[key] = msgs.get(key, 0) + 1
for key, n in msgs.items():
    if n > 1:
        V.append(f"webhook got {n} messages for {key}")
fired = {k[1] for k in msgs if k[0] == "extra-down" and k[2] == "firing"}
resolved = {k[1] for k in msgs if k[0] == "extra-down" and k[2] == "resolved"}
n_firing_ev = evkind("alert_firing")
n_resolved_ev = evkind("alert_resolved")
if len(fired) != n_firing_ev:
    V.append(f"{n_firing_ev} alert_firing events but {len(fired)} firing webhook messages")
if len(resolved) != n_resolved_ev:
    V.append(f"{n_resolved_ev} alert_resolved events but {len(resolved)} resolved messages")
if resolved - fired:
    V.append(f"resolved without a firing message: {sorted(resolved - fired)}")
b_ups = sum(1 for a in ups if a[2] == "B")
if b_ups and not fired:
    V.append("config B was applied (extra stopped) but extra-down never fired")
if len(fired) > b_ups:
    V.append(f"extra-down fired {len(fired)} times for {b_ups} removals of extra")

bk = jload("backups.json", {})
bk = bk.get("backups", bk) if isinstance(bk, dict) else bk
verified = [l.split() for l in open(P("backup-verified"))] if os.path.exists(P("backup-verified")) else []
v_ok = sum(1 for _i, rc in verified if rc == "0")
if v_ok != len(bk):
    V.append(f"{len(bk) - v_ok} of {len(bk)} backups failed `tend backup verify`")
made = evkind("backup_done")
if made >= 3 and len(bk) != 3:
    V.append(f"{made} backups made, {len(bk)} kept (keep: last 3)")
if MINUTES >= 3 and made < 1:
    V.append("no backup was made")
sha = [l.split() for l in open(P("sha-check.txt"))] if os.path.exists(P("sha-check.txt")) else []
if any(x[1] != "ok" for x in sha):
    V.append(f"sha256 mismatch with the manifest: {[x[0] for x in sha if x[1] != 'ok']}")
if os.path.exists(P("restore-rc")) and open(P("restore-rc")).read().strip() != "0":
    V.append(f"restore of the newest backup failed or differs (rc {open(P('restore-rc')).read().strip()})")

load = open(P("load.txt")).read().split("\n") if os.path.exists(P("load.txt")) else [""]
lw = load[0].split()
req_ok, req_failed = (int(lw[1]), int(lw[3])) if len(lw) == 4 else (0, -1)
if req_failed != 0:
    V.append(f"{req_failed} requests to web failed: {load[1:4]}")

# ---- chatty's lines -------------------------------------------------------------------------
lc = jload("logcheck.json", None)
written = int(open(P("chatty.progress")).read()) if os.path.exists(P("chatty.progress")) else 0
drop = {}
for s in samples:
    for i in s.get("apps", {}).get("chatty", []):
        drop[s["pid"]] = max(drop.get(s["pid"], 0), i[4] or 0)
dropped_bytes = sum(drop.values())
LINE_BYTES = 2 + 1 + 60 + 1 + 30  # "c N xxx\n" plus the stamp, roughly


def at_kill(ms):
    return ms is not None and any(k - 2000 <= ms <= k + 15000 for k in kills)


kill_lost = kill_torn = other_lost = 0
if lc is None:
    V.append("no logcheck result")
    lc = {"lines": 0, "gaps": [], "torn": [], "back": [], "unverified": [], "last": 0}
else:
    for g in lc["gaps"]:
        if at_kill(g["next_ms"]):
            kill_lost += g["missing"]
        else:
            other_lost += g["missing"]
    odd = []
    for x in lc["torn"]:
        if at_kill(x["next_ms"]):
            kill_torn += 1
        else:
            odd.append(x)
    if odd:
        V.append(f"{len(odd)} torn lines not at a daemon kill, first: {odd[:3]}")
    if lc.get("torn_count", 0) > len(lc["torn"]):
        V.append(f"{lc['torn_count']} torn lines (only the first 1000 classified)")
    for b in lc["back"][:5]:
        V.append(f"chatty line out of order or duplicated: {b}")
    if other_lost * LINE_BYTES > dropped_bytes + 4096:
        V.append(f"{other_lost} chatty lines lost away from daemon kills, but only "
                 f"{dropped_bytes} bytes were dropped and counted")
    if lc["last"] != written and not (dropped_bytes and lc["last"] < written):
        V.append(f"chatty wrote {written} lines, the log ends at {lc['last']}")
unverified = sum(u["missing"] for u in lc["unverified"])

# ---- summary --------------------------------------------------------------------------------
kb = lambda v: f"{MiB(v):.1f} MiB"  # noqa: E731
rows = [
    ("run", f"{MINUTES:g} min, {len(samples)} samples every 10 s, {len(kills)} daemon kills, "
            f"{len(ups)} `tend up` ({b_ups} of config B), {len(reloads)} reloads"),
    ("daemon RSS start / end / max", f"{kb(rss[0])} / {kb(rss[-1])} / {kb(max(rss))}"),
    ("daemon RSS max, first / last window", f"{kb(max(s['rss_kb'] for s in first))} / "
                                             f"{kb(max(s['rss_kb'] for s in last))}"),
    ("daemon fds start / end / max", f"{fds[0]} / {fds[-1]} / {max(fds)}"),
    ("daemon fds max, first / last window", f"{max(s['fds'] for s in first)} / "
                                             f"{max(s['fds'] for s in last)}"),
    ("daemon CPU, average", f"{100 * cpu_s / wall if wall else 0:.1f} % of a core "
                            f"({cpu_s:.0f} s in {wall:.0f} s)"),
    ("processes of the run (daemon, keeper, apps), max",
     f"{max(s['ours'] for s in samples)}; daemon's own tree max {max(s['tree'] for s in samples)}"),
    ("`tend status` p50 / p99 / max", f"{pct(0.5):.1f} / {pct(0.99):.1f} / {lat[-1]:.1f} ms"),
    ("daemon kills survived", f"{len(restarts_at)} of {len(kills)} (apps adopted, web pids unchanged)"),
    ("crashy restarts", f"{crashy_seen} (restart counter, largest seen) / {crashy_starts} restart events"),
    ("web restarts", f"{web_restarts}"),
    ("rel reloads ok", f"{reload_ok} of {len(reloads)}"),
    ("web requests ok / failed", f"{req_ok} / {req_failed}"),
    ("chatty lines written / checked", f"{written} / {lc['lines']} (+{unverified} rotated away unread)"),
    ("chatty lines lost at daemon kills", f"{kill_lost} lines, {kill_torn} torn lines"),
    ("chatty lines lost elsewhere / dropped bytes counted", f"{other_lost} / {dropped_bytes}"),
    ("backups made / kept / verified", f"{made} / {len(bk)} / {v_ok}; newest restored and compared"),
    ("extra-down firings / webhook firing / resolved", f"{n_firing_ev} / {len(fired)} / {len(resolved)}"),
    ("zombies / orphans at the end", "none" if not any("zombie" in v or "orphan" in v for v in V) else "SEE BELOW"),
]
w = max(len(r[0]) for r in rows)
print(f"| {'figure':<{w}} | value |")
print(f"|{'-' * (w + 2)}|-------|")
for k, v in rows:
    print(f"| {k:<{w}} | {v} |")
print()
if V:
    print(f"VIOLATIONS ({len(V)}):")
    for v in V[:50]:
        print("  - " + v)
    sys.exit(1)
print("soak: OK, no violation")
