#!/usr/bin/env python3
"""The report of bench/auth.sh from its results.tsv (also usable on a kept
work dir: auth_report.py WORK/results.tsv VERSIONS ROUNDS DURATION CONNS
SCENARIOS TARGET MISSED_PATH COOKIE_LEN TOKEN_LEN)."""
import sys, statistics as st

res, versions, rounds, duration, conns, scenarios, target, missed_path, clen, tlen = sys.argv[1:]
scenarios, target, rounds = scenarios.split(), float(target), int(rounds)
QUIET = 0.05  # a run is "quiet" when other work took less than this of the two cores
rows, noise = {}, []
for l in open(res):
    f = l.rstrip("\n").split("\t")
    if len(f) < 12:
        continue
    rows[(f[0], int(f[1]))] = dict(ok=int(f[2]), rps=float(f[3]), cpu=float(f[4]), p99=float(f[5]),
                                   req=int(f[6]), non200=int(f[8]), wrongid=int(f[9]), util=float(f[10]),
                                   other=float(f[14]) if len(f) >= 15 else 0.0)
    if len(f) >= 15:
        noise.append((float(f[12]), float(f[13]), float(f[14])))
label = {"open": "a. open route, no auth", "session": "b. session cookie (AES-GCM + JSON)",
         "bearer": "c. bearer JWT (RS256)", "opencookie": "a'. open route + the session cookie"}


def ratios(sc, k, quiet=False):
    """(round, scenario ÷ open) for the rounds where both runs are valid
    (and quiet, if asked)"""
    v = []
    for r in range(1, rounds + 1):
        a, b = rows.get(("open", r)), rows.get((sc, r))
        if a and b and a["ok"] and b["ok"] and a[k]:
            if quiet and (a["other"] >= QUIET or b["other"] >= QUIET):
                continue
            v.append((r, b[k] / a[k]))
    return v


def med(v):
    return None if not v else st.median(x for _, x in v)


def fmt(x):
    return "—" if x is None else f"{x:.3f}"


print(f"versions: {versions}  ")
print(f"proxy: one worker on one core; wrk -t1 -c{conns} -d{duration}s over HTTPS keep-alive; "
      f"{rounds} rounds, scenarios alternating; session Cookie header {clen} bytes, bearer token {tlen} bytes  ")
if noise:
    print(f"other work on the machine (busy ticks of both cores minus the proxy, the upstream and wrk) took a median "
          f"{st.median(n[2] for n in noise):.0%} of the two cores (max {max(n[2] for n in noise):.0%}); "
          f"{sum(n[2] < QUIET for n in noise)} of {len(noise)} runs were quiet (< {QUIET:.0%})")
print()
print("| scenario | valid | req/s (median) | req/s range | CPU µs/req (median) | CPU range | p99 ms | proxy core busy "
      "| non-200 | CPU ÷ open (median of rounds) | CPU ÷ open, quiet rounds (n) | req/s ÷ open | target |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
missed = []
for sc in scenarios:
    rs = [rows[(sc, r)] for r in range(1, rounds + 1) if (sc, r) in rows]
    v = [x for x in rs if x["ok"]]
    if not v:
        print(f"| {label[sc]} | 0/{len(rs)} | — | — | — | — | — | — | — | — | — | — | |")
        continue
    mc, q, mr = med(ratios(sc, "cpu")), ratios(sc, "cpu", quiet=True), med(ratios(sc, "rps"))
    tgt = ""
    if sc in ("session", "bearer"):
        tgt = "—" if mc is None else ("met" if mc <= target else f"missed (> {target})")
        if mc is None or mc > target:
            missed.append(sc)
    counted = "not counted" if any(x["non200"] < 0 for x in rs) else str(sum(x["non200"] for x in rs))
    print(f"| {label[sc]} | {len(v)}/{len(rs)} | {st.median(x['rps'] for x in v):,.0f} | "
          f"{min(x['rps'] for x in v):,.0f}–{max(x['rps'] for x in v):,.0f} | {st.median(x['cpu'] for x in v):.2f} | "
          f"{min(x['cpu'] for x in v):.2f}–{max(x['cpu'] for x in v):.2f} | {st.median(x['p99'] for x in v):.2f} | "
          f"{st.median(x['util'] for x in v):.2f} | {counted} | {fmt(mc)} | "
          f"{fmt(med(q))} ({len(q)}) | {fmt(mr)} | {tgt} |")
print("\nPer round (CPU µs/req, req/s, others' share of the two cores; ratio = CPU ÷ that round's open run):\n")
others = [s for s in scenarios if s != "open"]
print("| round | " + " | ".join(scenarios) + " | " + " | ".join(f"{s} ÷ open" for s in others) + " |")
print("|---" * (1 + len(scenarios) + len(others)) + "|")
for r in range(1, rounds + 1):
    cells = []
    for sc in scenarios:
        x = rows.get((sc, r))
        cells.append("—" if not x else f"{x['cpu']:.2f} µs, {x['rps']:,.0f}/s, {x['other']:.0%}"
                     + ("" if x["ok"] else " INVALID"))
    rat = [fmt(dict(ratios(sc, "cpu")).get(r)) for sc in others]
    print(f"| {r} | " + " | ".join(cells) + " | " + " | ".join(rat) + " |")
open(missed_path, "w").write(" ".join(missed))
