#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Turns the "@@BENCH KEY JSON" lines of a benchmark run into OUT.json (every figure, keyed as
# printed) and OUT.md (the tables). Used by tests/bench/run.
#   report.py RESULTS.txt OUT.json OUT.md
import json
import statistics
import sys

res = {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if not line.startswith("@@BENCH "):
        continue
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) < 3:
        continue
    try:
        res[parts[1]] = json.loads(parts[2])
    except json.JSONDecodeError:
        res[parts[1]] = {"unparsed": parts[2]}

json.dump(res, open(sys.argv[2], "w"), indent=1, sort_keys=True)
md = []


def get(key):
    return res.get(key)


def f(x, d=2):
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "**no**"
    if isinstance(x, float):
        return f"{x:.{d}f}"
    return str(x)


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "–"


# boot 1's figures are vm.KEY, boot N's vmN.KEY (tests/bench/run --boots)
boots = ["vm"] + sorted({k.split(".", 1)[0] for k in res if k[:2] == "vm" and k.split(".", 1)[0][2:].isdigit()},
                        key=lambda p: int(p[2:]))
start, end = get("host.start") or {}, get("host.end") or {}
cond = get("vm.conditions") or {}
md.append(f"Run {start.get('date', '?')}{' (quick: driver check, figures meaningless)' if start.get('quick') else ''}; "
          f"host: {start.get('cpus', '?')} CPUs ({start.get('cpu', '?')}), load average "
          f"{start.get('loadavg', '?')} at the start, {end.get('loadavg', '?')} at the end "
          "(anything else running on the host shows as noise in every figure).")
if cond:
    md.append(f"VM: QEMU {start.get('accel', 'tcg')}, -smp {cond.get('guest_cpus')}, kernel {cond.get('kernel')}, "
              f"mosquitto {cond.get('mosquitto')}, {cond.get('gpiod')}; the tables are the first boot's"
              + (f", the ratios below every boot's ({len(boots)} boots)." if len(boots) > 1 else "."))
md.append("")

# ---------------------------------------------------------------- latency
rows = [
    ("floor", "pull write → edge event read (libgpiod v2)", "vm.floor.edge"),
    ("floor", "broker alone: publish → own subscription, QoS 0", "vm.floor.broker.q0"),
    ("floor", "broker alone: publish → own subscription, QoS 1", "vm.floor.broker.q1"),
    ("floor", "gpiod_line_request_set_value → sim value", "vm.floor.set"),
    ("gpio2mqtt", "edge → subscriber, QoS 0", "vm.g2m.edge.q0"),
    ("gpio2mqtt", "edge → subscriber, QoS 1", "vm.g2m.edge.q1"),
    ("shell bridge", "edge → subscriber, QoS 0 (gpiomon | mosquitto_pub -l)", "vm.sh.edge.q0"),
    ("shell bridge", "edge → subscriber, QoS 1", "vm.sh.edge.q1"),
    ("gpio2mqtt", "publish /set → output, QoS 0", "vm.g2m.cmd.q0"),
    ("gpio2mqtt", "publish /set → output, QoS 1", "vm.g2m.cmd.q1"),
    ("shell bridge", "publish → output, QoS 0 (mosquitto_sub | while read; gpioset &)", "vm.sh.cmd.q0"),
]
if any(get(k) for _, _, k in rows):
    md += ["### Latency (ms; paced, random 5–15 ms gaps)", "",
           "| | path | n | missed | p50 | p99 | max |", "|---|---|---:|---:|---:|---:|---:|"]
    for who, what, k in rows:
        r = get(k) or {}
        md.append(f"| {who} | {what} | {f(r.get('n'))} | {f(r.get('missed'))} | {f(r.get('p50'))} | "
                  f"{f(r.get('p99'))} | {f(r.get('max'))} |")
    fe, fb0, fb1, fs = (get(k) or {} for k in ("vm.floor.edge", "vm.floor.broker.q0", "vm.floor.broker.q1", "vm.floor.set"))
    lines = []
    for q, fb in ((0, fb0), (1, fb1)):
        g, s = get(f"vm.g2m.edge.q{q}") or {}, get(f"vm.sh.edge.q{q}") or {}
        if fe.get("p50") and fb.get("p50") and g.get("p50"):
            fl = fe["p50"] + fb["p50"]
            lines.append(f"- edge → subscriber QoS {q}: gpio2mqtt p50 = {ratio(g['p50'], fl)} the floor "
                         f"(event read + broker round trip = {fl:.2f} ms), p99 = "
                         f"{ratio(g.get('p99'), s.get('p99'))} the shell bridge's (target ≤ 1.1× / ≤ 0.6×)")
        c = get(f"vm.g2m.cmd.q{q}") or {}
        if fs.get("p50") and fb.get("p50") and c.get("p50"):
            fl = fs["p50"] + fb["p50"]
            lines.append(f"- command → output QoS {q}: gpio2mqtt p50 = {ratio(c['p50'], fl)} the floor "
                         f"(set_value + broker round trip = {fl:.2f} ms) (target ≤ 1.2×)")
    sc, gc = get("vm.sh.cmd.q0") or {}, get("vm.g2m.cmd.q0") or {}
    if sc.get("p50") and gc.get("p50"):
        lines.append(f"- command → output QoS 0: shell bridge p50 = {ratio(sc['p50'], gc['p50'])} gpio2mqtt's")
    md += [""] + lines + [""]

# ---------------------------------------------------------------- system calls per event
sc = [(what, get(f"vm.g2m.syscalls.{k}")) for what, k in (("an edge", "edge"), ("a command", "cmd"))]
if any(r for _, r in sc):
    md += ["### System calls per edge and per command (gpio2mqtt, QoS 1, strace -f; per event)", "",
           "| event | thread | calls | by call |", "|---|---|---:|---|"]
    for what, r in sc:
        r = r or {}
        for thread in ("main", "network"):
            t = r.get(thread) or {}
            calls = ", ".join(f"{k} {v:.2f}" for k, v in sorted((t.get("calls") or {}).items(), key=lambda kv: -kv[1]))
            md.append(f"| {what} | {thread} | {f(t.get('total'), 2)} | {calls or '–'} |")
    md += ["", "The main thread's calls up to its hand-off to the network thread (a write to "
           "libmosquitto's wake-up pipe) stand between the edge or command and the broker on a "
           "single CPU; the floor makes one read (edge) or one ioctl (command).", ""]

# ---------------------------------------------------------------- glitches
gl = [("gpio2mqtt", get("vm.g2m.glitch")), ("shell bridge", get("vm.sh.glitch"))]
if any(r for _, r in gl):
    md += ["### Repeated commands (the same value again and again; output sampled in a loop)", "",
           "| | commands | samples | dips to 0 | longest dip (ms) | line re-requested |",
           "|---|---:|---:|---:|---:|---:|"]
    for who, r in gl:
        r = r or {}
        md.append(f"| {who} | {f(r.get('commands'))} | {f(r.get('samples'))} | {f(r.get('dips'))} | "
                  f"{f(r.get('longest_dip_ms'), 1)} | {f(r.get('rerequests'))} |")
    md.append("")

# ---------------------------------------------------------------- sweep
rates = (cond.get("rates") or "").split()
if rates:
    md += ["### Edge rate sweep (QoS 1 subscriber; each for %s ms)" % cond.get("sweep_ms"), "",
           "| requested /s | | achieved /s | sent | received | lost (reported) | unaccounted | backlog at end | "
           "last message after last edge (ms) | final state right |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rates:
        fl = get(f"vm.floor.sweep.{r}")
        if fl:
            md.append(f"| {r} | floor (libgpiod reader) | {f(fl.get('rate'))} | {f(fl.get('sent'))} | {f(fl.get('seen'))} | "
                      f"{f(fl.get('lost'))} | {f(fl['sent'] - fl['seen'] - fl['lost']) if 'sent' in fl else '–'} | "
                      f"{f(fl.get('backlog_at_end'))} | {f(fl.get('settle_ms'), 1)} | {f(fl.get('final_ok'))} |")
        for who, k in (("gpio2mqtt (QoS 1)", f"vm.g2m.sweep.{r}"), ("shell bridge QoS 0", f"vm.sh.sweep.q0.{r}"),
                       ("shell bridge QoS 1", f"vm.sh.sweep.q1.{r}")):
            w = get(k)
            if not w:
                continue
            x = w.get("result", {})
            lost = w.get("lost_reported")
            sent, recv = x.get("sent"), x.get("received")
            # the daemon publishes one extra state after lost edges (the level read afterwards)
            unacc = (sent - recv - lost) if None not in (sent, recv, lost) else None
            right = x.get("final_ok") and w.get("retained") == w.get("level")
            late = " (still arriving after 30 s)" if x.get("still_arriving") else ""
            md.append(f"| {r} | {who} | {f(x.get('rate'))} | {f(sent)} | {f(recv)} | "
                      f"{f(lost) if lost is not None else 'not reported'} | {f(unacc) if unacc is not None else '–'} | "
                      f"{f(x.get('backlog_at_end'))} | {f(x.get('settle_ms'), 1)}{late} | {f(bool(right))} |")
    md += ["", "gpio2mqtt publishes the newest state per pin, not every edge (edges read together, and "
           "while 20 publishes wait for the broker): its \"unaccounted\" are merged edges and its backlog "
           "counts them; what matters is the time to the last message and the final state."]
    md.append("")

# ---------------------------------------------------------------- idle
idle = [("gpio2mqtt", get("vm.g2m.idle")), ("shell bridge (in + out, all processes)", get("vm.sh.idle"))]
if any(r for _, r in idle):
    md += [f"### Idle ({(idle[0][1] or idle[1][1] or {}).get('seconds')} s, nothing happening; keepalive 60 s everywhere)", "",
           "| | context switches (wake-ups) | system calls (strace -f -c) | by call |", "|---|---:|---:|---|"]
    for who, r in idle:
        r = r or {}
        st = r.get("strace") or {}
        calls = ", ".join(f"{k} {v}" for k, v in sorted((st.get("calls") or {}).items(), key=lambda kv: -kv[1]))
        md.append(f"| {who} | {f(r.get('ctx_switches'))} | {f(st.get('total'))} | {calls or '–'} |")
    md.append("")

# ---------------------------------------------------------------- memory
def mem(key, field="rss_kb"):
    ps = get(key)
    if not isinstance(ps, list) or not ps:
        return None, ""
    total = sum(p.get(field, 0) for p in ps)
    detail = " + ".join(f"{p['proc']} {p.get(field, 0) / 1024:.1f}" for p in ps) if len(ps) > 1 else ""
    return total, detail


if get("vm.g2m.mem.start.q1") or get("vm.sh.mem.start.q0"):
    md += ["### Memory (MB; VmRSS, VmHWM = peak, PSS = shared pages divided among their users, "
           "USS = private pages)", "",
           "| | when | RSS | HWM | PSS | USS | processes (RSS) |", "|---|---|---:|---:|---:|---:|---|"]
    for who, when, k in (("gpio2mqtt (in + out)", "after start", "vm.g2m.mem.start.q1"),
                         ("gpio2mqtt (in + out)", "after the sweep", "vm.g2m.mem.storm"),
                         ("gpio2mqtt, TLS", "after start", "vm.g2m.mem.tls.start"),
                         ("gpio2mqtt, TLS", "after a storm", "vm.g2m.mem.tls.storm"),
                         ("shell bridge in, QoS 0", "after start", "vm.sh.mem.start.q0"),
                         ("shell bridge in, QoS 0", "after the sweep", "vm.sh.mem.storm.q0"),
                         ("shell bridge in, QoS 1", "after the sweep", "vm.sh.mem.storm.q1"),
                         ("shell bridge in, TLS QoS 1", "after start", "vm.sh.mem.tls.start"),
                         ("shell bridge in, TLS QoS 1", "after a storm", "vm.sh.mem.tls.storm"),
                         ("shell bridge out", "after start", "vm.sh.mem.out.start"),
                         ("shell bridge out", "after the commands", "vm.sh.mem.out.after")):
        v = get(k)
        if isinstance(v, dict) and v.get("error"):
            md.append(f"| {who} | {when} | – | – | – | – | {v['error']} |")
            continue
        rss, detail = mem(k)
        hwm, _ = mem(k, "hwm_kb")
        pss, _ = mem(k, "pss_kb")
        uss, _ = mem(k, "uss_kb")
        if rss is None:
            continue
        md.append(f"| {who} | {when} | {rss / 1024:.1f} | {hwm / 1024:.1f} | "
                  f"{pss / 1024 if pss else 0:.1f} | {uss / 1024 if uss else 0:.1f} | {detail} |")
    md.append("")

# ---------------------------------------------------------------- memory by mapping (mem-map)
def mem_groups(key):
    """{group: {rss, pss, pc, pd}} of one process, the program itself as "(the program)" and
    locale files together; None when missing"""
    v = get(key)
    if not isinstance(v, dict) or "groups" not in v:
        return None
    out = {}
    for grp in v["groups"]:
        n = grp["name"]
        if n == v.get("proc"):
            n = "(the program)"
        elif n.startswith(("LC_", "SYS_LC_")) or n.startswith("gconv-modules") or n == "locale-archive":
            n = "(locale files)"
        elif ".so" in n:
            n = n.split(".so")[0] + ".so"
        t = out.setdefault(n, {"rss": 0, "pss": 0, "pc": 0, "pd": 0})
        for a, b in (("rss", "rss_kb"), ("pss", "pss_kb"), ("pc", "private_clean_kb"), ("pd", "private_dirty_kb")):
            t[a] += grp.get(b, 0)
    return out


for when, gk, pk in (("after start", "vm.mem.map.g2m.start", "vm.mem.map.pub.start"),
                     ("with TLS, after start", "vm.mem.map.g2m.tls", "vm.mem.map.pub.tls")):
    g, p = mem_groups(gk), mem_groups(pk)
    if not g and not p:
        continue
    g, p = g or {}, p or {}
    names = [n for n in g if g[n]["rss"] or n in p and p[n]["rss"]]
    names += [n for n in p if n not in names and p[n]["rss"]]
    # shared with mosquitto_pub first, then ours alone, then its alone; big first
    names.sort(key=lambda n: (0 if n in g and n in p else 1 if n in g else 2,
                              -max(g.get(n, {}).get("rss", 0), p.get(n, {}).get("rss", 0))))
    md += [f"### Memory by mapping, {when} (kB; /proc/PID/smaps; private = Private_Clean + Private_Dirty = USS)", "",
           "| mapping | gpio2mqtt RSS | PSS | private clean | private dirty | mosquitto_pub RSS | PSS | "
           "private clean | private dirty | private: gpio2mqtt − mosquitto_pub |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def cells(t):
        return " | ".join(str(t[a]) for a in ("rss", "pss", "pc", "pd")) if t else "– | – | – | –"

    tot = {w: {"rss": 0, "pss": 0, "pc": 0, "pd": 0} for w in ("g", "p")}
    for n in names:
        a, b = g.get(n), p.get(n)
        for w, t in (("g", a), ("p", b)):
            for x in tot[w]:
                tot[w][x] += (t or {}).get(x, 0)
        d = ((a or {}).get("pc", 0) + (a or {}).get("pd", 0)) - ((b or {}).get("pc", 0) + (b or {}).get("pd", 0))
        md.append(f"| {n} | {cells(a)} | {cells(b)} | {d:+d} |")
    d = tot["g"]["pc"] + tot["g"]["pd"] - tot["p"]["pc"] - tot["p"]["pd"]
    md.append(f"| **total** | {cells(tot['g'])} | {cells(tot['p'])} | {d:+d} |")
    md += ["", "Thread stack: the anonymous mapping holding a thread's stack pointer; malloc arena: a "
           "second thread's glibc heap; anonymous: the rest (big malloc blocks, libraries' own mmaps). "
           "A library's private pages are its relocated data (GOT, .data.rel.ro) and .data/.bss.", ""]

# ---------------------------------------------------------------- stop, wake-ups
stop, health = get("vm.g2m.stop.stalled"), get("vm.g2m.health.sweep")
if stop or health:
    md += ["### Stop and wake-ups", ""]
    if stop:
        md.append(f"- SIGTERM during a max-rate storm with the broker stopped (SIGSTOP): exit after "
                  f"{f(stop.get('ms'))} ms (±{stop.get('resolution_ms')} ms), status {f(stop.get('status'))} (target ≤ 2000 ms)")
    if isinstance(health, dict) and health.get("publishes_made"):
        md.append(f"- after the sweep: {health.get('publishes_made')} publishes made, "
                  f"{health.get('network_wakeups')} wake-ups of the main loop by the network thread = "
                  f"{health['network_wakeups'] / health['publishes_made']:.3f} per published state; "
                  f"{health.get('edges_seen')} edges seen, {health.get('edges_lost')} lost")
    md.append("")

# ---------------------------------------------------------------- PWM lights (guest-pwm.sh)
pwm_rows = [
    ("floor", "write() of duty_cycle → pwm_apply (sysfs, same channel)", "vm.pwm.floor"),
    ("gpio2mqtt", "publish brightness /set → pwm_apply of its duty, QoS 0", "vm.pwm.cmd.q0"),
    ("gpio2mqtt", "publish brightness /set → pwm_apply of its duty, QoS 1", "vm.pwm.cmd.q1"),
]
if any(get(k) for _, _, k in pwm_rows) or get("vm.pwm.fade"):
    pc = get("vm.pwm.conditions") or {}
    md += [f"### PWM lights: command → duty applied (ms; the kernel's pwm_apply tracepoint, "
           f"test PWM chip at {1e9 / pc['period_ns']:.0f} Hz)" if pc.get("period_ns") else
           "### PWM lights: command → duty applied (ms; the kernel's pwm_apply tracepoint)", "",
           "| | path | n | missed | p50 | p99 | max |", "|---|---|---:|---:|---:|---:|---:|"]
    for who, what, k in pwm_rows:
        r = get(k) or {}
        md.append(f"| {who} | {what} | {f(r.get('n'))} | {f(r.get('missed'))} | {f(r.get('p50'))} | "
                  f"{f(r.get('p99'))} | {f(r.get('max'))} |")
    pfl, pfb = get("vm.pwm.floor") or {}, {q: get(f"vm.floor.broker.q{q}") or {} for q in (0, 1)}
    lines = []
    for q in (0, 1):
        c = get(f"vm.pwm.cmd.q{q}") or {}
        if pfl.get("p50") is not None and pfb[q].get("p50") and c.get("p50"):
            fl = pfl["p50"] + pfb[q]["p50"]
            lines.append(f"- command → duty QoS {q}: gpio2mqtt p50 = {ratio(c['p50'], fl)} the floor "
                         f"(duty_cycle write + broker round trip = {fl:.2f} ms)")
    fd = get("vm.pwm.fade") or {}
    if fd:
        lines.append(f"- fades: {f(fd.get('fades'))} of {f(fd.get('fade_ms'))} ms (10 % ↔ 100 %, gamma 1.0), "
                     f"{f(fd.get('steps'))} steps applied, {f(fd.get('unfinished'))} unfinished; step interval "
                     f"p50 {f(fd.get('p50'))}, **p99 {f(fd.get('p99'))}**, max {f(fd.get('max'))} ms "
                     f"(goal: a step at least every 20 ms); publish → first step ≤ {f(fd.get('first_step_ms_max'))} ms; "
                     f"first → last step {f(fd.get('duration_ms_min'))}–{f(fd.get('duration_ms_max'))} ms")
    if len(boots) > 1:
        per = []
        for p in boots:
            c1, fl1, b1 = res.get(f"{p}.pwm.cmd.q1") or {}, res.get(f"{p}.pwm.floor") or {}, res.get(f"{p}.floor.broker.q1") or {}
            fdp = res.get(f"{p}.pwm.fade") or {}
            r = (f"{c1['p50'] / (fl1['p50'] + b1['p50']):.2f}×" if c1.get("p50") and fl1.get("p50") is not None
                 and b1.get("p50") else "–")
            per.append(f"{r} / {f(fdp.get('p99'))} ms")
        lines.append("- per boot (command → duty QoS 1 p50 / floor, fade step p99): " + ", ".join(per))
    md += [""] + lines + [""]


# ---------------------------------------------------------------- meters (guest-meter.sh)
meter_rates = [k.split(".", 3)[3] for k in res if k.startswith("vm.meter.g2m.")]
if meter_rates:
    best = get("vm.meter.best") or {}
    md += [f"### Pulse counter: the highest rate counted exactly ({best.get('pulses_per_step', '?')} pulses per step)", "",
           "| requested Hz | | achieved Hz | pulses made | counted | edges lost | exact |",
           "|---:|---|---:|---:|---:|---:|---|"]
    for r in meter_rates:
        g, fl = get(f"vm.meter.g2m.{r}") or {}, get(f"vm.meter.floor.{r}") or {}
        if g:
            md.append(f"| {r} | gpio2mqtt counter (total; lost per `<base>/health`) | {f(g.get('achieved_hz'))} | "
                      f"{f(g.get('made'))} | {f(g.get('counted'))} | {f(g.get('edges_lost'))} | {f(g.get('exact'))} |")
        if fl:
            x = fl.get("result", {})
            md.append(f"| {r} | floor (libgpiod reader: rising edges read) | {f(fl.get('achieved_hz'))} | "
                      f"{f(fl.get('made'))} | {f(x.get('rising'))} | {f(x.get('lost'))} | {f(fl.get('exact'))} |")
    md += ["", f"Highest rate counted exactly: gpio2mqtt {f(best.get('g2m_hz'))} Hz, the floor "
           f"{f(best.get('floor_hz'))} Hz (pulses from pulse-gen on absolute deadlines, 50 % duty; "
           "\"max\" = unpaced). Exact = every pulse counted and no edge lost.", ""]

# ---------------------------------------------------------------- across boots
def boot_figures(p):
    def g(key, *path):
        v = res.get(f"{p}.{key}")
        for x in path:
            v = v.get(x) if isinstance(v, dict) else None
        return v

    def div(a, b):
        return a / b if a is not None and b else None

    def proc_mem(key, name, field):
        ps = g(key)
        if not isinstance(ps, list):
            return None
        m = [x.get(field) for x in ps if name is None or x.get("proc") == name]
        return m[0] / 1024 if m and m[0] else None

    out = {}
    for q in (0, 1):
        fl = (g("floor.edge", "p50") or 0) + (g(f"floor.broker.q{q}", "p50") or 0)
        out[f"edge → subscriber QoS {q}: p50 / floor"] = div(g(f"g2m.edge.q{q}", "p50"), fl)
        out[f"edge → subscriber QoS {q}: p99 / shell bridge's"] = div(g(f"g2m.edge.q{q}", "p99"),
                                                                      g(f"sh.edge.q{q}", "p99"))
        fs = (g("floor.set", "p50") or 0) + (g(f"floor.broker.q{q}", "p50") or 0)
        out[f"command → output QoS {q}: p50 / floor"] = div(g(f"g2m.cmd.q{q}", "p50"), fs)
    for r in rates:
        out[f"{r}/s: last message after the last edge (ms)"] = g(f"g2m.sweep.{r}", "result", "settle_ms")
        out[f"{r}/s: backlog at the end of the edges"] = g(f"g2m.sweep.{r}", "result", "backlog_at_end")
        out[f"{r}/s: edges lost (reported)"] = g(f"g2m.sweep.{r}", "lost_reported")
    for field, name in (("rss_kb", "RSS"), ("pss_kb", "PSS"), ("uss_kb", "USS")):
        mine, pub = proc_mem("g2m.mem.start.q1", None, field), proc_mem("sh.mem.start.q0", "mosquitto_pub", field)
        out[f"{name} after start (MB)"] = mine
        out[f"mosquitto_pub alone: {name} after start (MB)"] = pub
        out[f"{name} / mosquitto_pub's"] = div(mine, pub)
        out[f"{name} after the sweep (MB)"] = proc_mem("g2m.mem.storm", None, field)
    out["stop during a stalled storm (ms)"] = g("g2m.stop.stalled", "ms")
    out["wake-ups per published state (sweep)"] = div(g("g2m.health.sweep", "network_wakeups"),
                                                      g("g2m.health.sweep", "publishes_made"))
    return out


if len(boots) > 1:
    figs = [boot_figures(p) for p in boots]
    md += [f"### gpio2mqtt across {len(boots)} boots (median and spread = max − min)", "",
           "| figure | " + " | ".join(f"boot {i + 1}" for i in range(len(boots))) + " | median | spread |",
           "|---|" + "---:|" * (len(boots) + 2)]
    for k in figs[0]:
        vals = [fg.get(k) for fg in figs]
        nums = [v for v in vals if isinstance(v, (int, float))]
        med = statistics.median(nums) if nums else None
        spread = max(nums) - min(nums) if len(nums) > 1 else None
        md.append(f"| {k} | " + " | ".join(f(float(v)) if isinstance(v, (int, float)) else "–" for v in vals)
                  + f" | {f(float(med)) if med is not None else '–'} | {f(float(spread)) if spread is not None else '–'} |")
    md.append("")

# ---------------------------------------------------------------- host throughput
hc = get("host.conditions")
if hc:
    md += [f"### Host publish throughput (states/s to a local mosquitto {hc.get('mosquitto')}, {hc.get('n')} states, "
           f"{hc.get('cpus')} CPUs, load {hc.get('loadavg')})", "",
           "| publisher | QoS 0 | QoS 1 |", "|---|---:|---:|"]
    for who, k in (("gpio2mqtt-test (the daemon with the GPIO test double)", "g2m"),
                   ("mosquitto_pub -l", "mosquitto_pub"), (f"Python Paho {hc.get('paho')} loop", "paho")):
        cells = []
        for q in (0, 1):
            r = get(f"host.{k}.q{q}") or {}
            miss = f" ({r['received']}/{r['sent']} received)" if r.get("received") != r.get("sent") else ""
            cells.append(f"{f(r.get('per_s'))}{miss}")
        md.append(f"| {who} | {cells[0]} | {cells[1]} |")
    md.append("")

open(sys.argv[3], "w").write("\n".join(md) + "\n")
