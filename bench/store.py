"""Tensors that stay on the server (issue #32): the speed rows, timed from the
Python package against one running server (bench/store.sh starts it).

  upload         c.put(a) of a 256 MiB float32 array (8192 x 8192), then
                 deleted (untimed)
  keep_total     c.put(a), then c.gaussian_filter(ref, s, keep=True) for the
                 five sigmas: the whole sequence (kept results deleted
                 after, untimed); keep_s the five keep calls alone
  keep_recycled  the same keep calls, each result deleted before the next
                 call (so the next can reuse its memory); keep_total_recycled
                 the whole sequence with its own put
  keep_tiny      a keep call on a stored 4 x 4 float32 tensor (the RPC's own
                 cost, without an engine worth timing)
  get            c.get(ref): the stored 256 MiB downloaded (no engine)
  stored5        c.gaussian_filter(ref, s) for the five sigmas: results
                 downloaded from the stored tensor
  upload5        c.gaussian_filter(a, s) for the five sigmas: the array
                 uploaded each time (GaussianFilterStream: upload, engine and
                 download overlap)
  link_*         put, stored5 and upload5 through bench/throttle_proxy.py at
                 --rate bytes/s each way (1 Gbit/s = 125e6)
  pipeline       r1 = gaussian_filter(ref, 2, keep) -> r2 =
                 gaussian_gradient_magnitude(r1, 1, keep) -> describe(r2):
                 the server's /metrics byte counters by method, and the bytes
                 on the client's socket (counted by the proxy, unthrottled)

  engine         the engine alone, in-process (examples/filter_bench.rs on
                 the same input saved as .npy), before and after the loopback
                 rounds: warm (a median of --engine-runs calls in one
                 process, the result written into recycled memory) and cold
                 (--engine-cold processes of one call: a fresh result
                 buffer); its outputs are compared with the service's

Prints one line per measurement (`name median_ms [all runs]`), the engine
ratio, the byte tables and the checks.

usage: python bench/store.py GRPC_ADDR HTTP_ADDR [--runs N] [--link-runs N]
           [--rate BYTES_PER_S] [--filter-bench PATH --work DIR]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

import numpy as np
import tensorwire as tw

SIGMAS = (1.0, 2.0, 3.0, 4.0, 5.0)
SHAPE = (8192, 8192)  # float32: 256 MiB


def the_input():
    return np.random.default_rng(32).standard_normal(SHAPE, dtype=np.float32)


def ms(t):
    return (time.perf_counter() - t) * 1e3


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def report(name, values, extra=""):
    runs = " ".join(f"{v:.1f}" for v in values)
    print(f"{name} {statistics.median(values):.1f} [{runs}]{extra}", flush=True)
    return statistics.median(values)


def byte_counters(http):
    """{(family, method): value} of the gRPC byte counters on /metrics."""
    text = urllib.request.urlopen(f"http://{http}/metrics", timeout=30).read().decode()
    out = {}
    for line in text.splitlines():
        for family in ("received", "sent"):
            prefix = f"tensorwire_grpc_{family}_bytes_total{{"
            if line.startswith(prefix):
                labels, value = line[len(prefix) :].rsplit("} ", 1)
                method = labels.split('method="', 1)[1].split('"', 1)[0]
                out[(family, method)] = float(value)
    return out


def counter_diff(before, after):
    rows = {}
    for key, value in after.items():
        d = value - before.get(key, 0.0)
        if d:
            rows.setdefault(key[1], {"received": 0, "sent": 0})[key[0]] = int(d)
    return rows


class Proxy:
    """bench/throttle_proxy.py in its own process (its own GIL and core time)."""

    def __init__(self, target, rate):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "throttle_proxy.py")
        self.proc = subprocess.Popen(
            [sys.executable, script, target, str(rate)], stdout=subprocess.PIPE, text=True
        )
        self.port = int(self.proc.stdout.readline().split()[1])

    def bytes(self):
        """(up, down) forwarded so far."""
        self.proc.send_signal(signal.SIGUSR1)
        _, up, down = self.proc.stdout.readline().split()
        return int(up), int(down)

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def five_calls(c, source, keep_results=None):
    """The five sigmas on ``source`` (a RemoteTensor, or an array uploaded
    each time), results downloaded; the total ms."""
    t = time.perf_counter()
    for s in SIGMAS:
        r = c.gaussian_filter(source, s)
        if keep_results is not None:
            keep_results.append(r)
        del r
    return ms(t)


def timed_put(c, a):
    t = time.perf_counter()
    ref = c.put(a)
    took = ms(t)
    ref.delete()
    return took


def loopback(c, a, runs, checks, first):
    """Every loopback measurement, `runs` rounds, the paths interleaved;
    the first round's stored-path results of sigmas 1 and 2 go to `first`."""
    times = {
        k: []
        for k in (
            "upload",
            "keep_total",
            "keep_calls",
            "keep_total_recycled",
            "get",
            "stored5",
            "upload5",
        )
    }
    per_sigma = {s: [] for s in SIGMAS}
    recycled = {s: [] for s in SIGMAS}
    ref = c.put(a)
    for i in range(runs):
        times["upload"].append(timed_put(c, a))

        t = time.perf_counter()
        r = c.put(a)
        kept = []
        t_keep = time.perf_counter()
        for s in SIGMAS:
            t_s = time.perf_counter()
            kept.append(c.gaussian_filter(r, s, keep=True))
            per_sigma[s].append(ms(t_s))
        times["keep_calls"].append(ms(t_keep))
        times["keep_total"].append(ms(t))
        if i == 0:
            checks["kept sigma 2 == uploaded path"] = c.get(kept[1]).tobytes() == (
                c.gaussian_filter(a, 2.0).tobytes()
            )
        for k in kept:
            k.delete()
        del kept
        r.delete()
        # Each kept result deleted before the next call: its buffer can be
        # reused by the next result, as the engine's own are.
        t = time.perf_counter()
        r = c.put(a)
        for s in SIGMAS:
            t_s = time.perf_counter()
            k = c.gaussian_filter(r, s, keep=True)
            recycled[s].append(ms(t_s))
            k.delete()
        times["keep_total_recycled"].append(ms(t))
        r.delete()

        t = time.perf_counter()
        got = c.get(ref)
        times["get"].append(ms(t))
        if i == 0:
            checks["get == put"] = got.tobytes() == a.tobytes()
        del got

        stored, uploaded = ([], []) if i == 0 else (None, None)
        # Alternate which path goes first, so that neither always follows
        # the other's memory traffic.
        if i % 2 == 0:
            times["stored5"].append(five_calls(c, ref, stored))
            times["upload5"].append(five_calls(c, a, uploaded))
        else:
            times["upload5"].append(five_calls(c, a, uploaded))
            times["stored5"].append(five_calls(c, ref, stored))
        if i == 0:
            checks["stored == uploaded, all five sigmas"] = all(
                x.tobytes() == y.tobytes() for x, y in zip(stored, uploaded, strict=True)
            )
            first.extend(stored[:2])
        del stored, uploaded
        print(f"# loopback round {i + 1}/{runs} done, load {loadavg()}", flush=True)
    ref.delete()
    return times, per_sigma, recycled


def tiny_keep(c, runs):
    small = c.put(np.arange(16, dtype=np.float32).reshape(4, 4))
    out = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        k = c.gaussian_filter(small, 2.0, keep=True)
        out.append(ms(t))
        k.delete()
    small.delete()
    return out[1:]


def link(c, a, runs):
    times = {"link_upload": [], "link_stored5": [], "link_upload5": []}
    for i in range(runs):
        t = time.perf_counter()
        ref = c.put(a)
        times["link_upload"].append(ms(t))
        if i % 2 == 0:
            times["link_stored5"].append(five_calls(c, ref))
            times["link_upload5"].append(five_calls(c, a))
        else:
            times["link_upload5"].append(five_calls(c, a))
            times["link_stored5"].append(five_calls(c, ref))
        ref.delete()
        print(f"# link round {i + 1}/{runs} done, load {loadavg()}", flush=True)
    return times


def pipeline(grpc_addr, http, a):
    """The three-step pipeline through a counting (unthrottled) proxy."""
    proxy = Proxy(grpc_addr, 0)
    try:
        with tw.Client(f"127.0.0.1:{proxy.port}") as c:
            b0, s0 = byte_counters(http), proxy.bytes()
            ref = c.put(a)
            b1, s1 = byte_counters(http), proxy.bytes()
            t = time.perf_counter()
            r1 = c.gaussian_filter(ref, 2.0, keep=True)
            r2 = c.gaussian_gradient_magnitude(r1, 1.0, keep=True)
            info = c.describe(r2)
            took = ms(t)
            b2, s2 = byte_counters(http), proxy.bytes()
            for r in (r2, r1, ref):
                r.delete()
    finally:
        proxy.close()
    return {
        "put": (counter_diff(b0, b1), (s1[0] - s0[0], s1[1] - s0[1])),
        "pipeline": (counter_diff(b1, b2), (s2[0] - s1[0], s2[1] - s1[1])),
        "info": info,
        "ms": took,
    }


def filter_bench(args, s, out, runs):
    """examples/filter_bench on the saved input at sigma `s`: its median ms."""
    command = [args.filter_bench, os.path.join(args.work, "in.npy"), out]
    command += ["--sigma", str(s), "--runs", str(runs)]
    return float(
        subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[1]
    )


def engine(args, warm, cold):
    """The engine alone, in-process, for each sigma: the median of
    --engine-runs calls in one process (every call after the first writes
    into the buffer its predecessor freed: `filter::pool`), appended to
    `warm`; and --engine-cold processes of one call each (a result in fresh
    memory, as a kept result is), each appended to `cold`."""
    print(f"# engine alone, load {loadavg()}", flush=True)
    for s in SIGMAS:
        out = os.path.join(args.work, f"out_{s:g}.npy")
        warm.setdefault(s, []).append(filter_bench(args, s, out, args.engine_runs))
        for _ in range(args.engine_cold):
            cold.setdefault(s, []).append(filter_bench(args, s, os.devnull, 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("grpc", nargs="?")
    p.add_argument("http", nargs="?")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--link-runs", type=int, default=3)
    p.add_argument("--rate", type=float, default=125e6)
    p.add_argument("--filter-bench", help="examples/filter_bench's binary")
    p.add_argument("--engine-runs", type=int, default=5)
    p.add_argument("--engine-cold", type=int, default=3)
    p.add_argument("--work", help="a directory for the engine's .npy files")
    args = p.parse_args()
    a = the_input()
    warm, cold = {}, {}
    if args.filter_bench:
        np.save(os.path.join(args.work, "in.npy"), a)
        engine(args, warm, cold)
    mib = a.nbytes / (1 << 20)
    print(f"# input {a.shape} {a.dtype}, {mib:.0f} MiB; sigmas {SIGMAS}")
    print(f"# load before: {loadavg()}", flush=True)
    checks, first = {}, []
    with tw.Client(args.grpc) as c:
        # Warm-up: one of each path (first-use page faults, pools).
        ref = c.put(a)
        c.gaussian_filter(ref, 1.0, keep=True).delete()
        c.gaussian_filter(ref, 1.0)
        c.gaussian_filter(a, 1.0)
        ref.delete()
        times, per_sigma, recycled = loopback(c, a, args.runs, checks, first)
        tiny = tiny_keep(c, 20)
    med = {k: report(k, v) for k, v in times.items()}
    keep_med = {s: report(f"keep_sigma{s:g}", v) for s, v in per_sigma.items()}
    recycled_med = {s: report(f"keep_recycled_sigma{s:g}", v) for s, v in recycled.items()}
    report("keep_tiny", tiny, " (4x4 float32, RPC overhead of a keep call)")
    print(f"stored5/upload5 loopback speed-up {med['upload5'] / med['stored5']:.2f}x")

    if args.filter_bench:
        engine(args, warm, cold)  # again, after the loopback rounds
        print("sigma engine_warm [before / after] engine_cold [runs] keep keep_recycled")
        for s in SIGMAS:
            w = " / ".join(f"{v:.1f}" for v in warm[s])
            c = " ".join(f"{v:.1f}" for v in cold[s])
            print(
                f"{s:g} {statistics.mean(warm[s]):.1f} [{w}] {statistics.median(cold[s]):.1f} [{c}]"
                f" {keep_med[s]:.1f} {recycled_med[s]:.1f}"
            )
        for name, engines in (("warm", warm), ("cold", cold)):
            pick = statistics.mean if name == "warm" else statistics.median
            total_engine = sum(pick(engines[s]) for s in SIGMAS)
            bound = med["upload"] + total_engine
            print(
                f"engine_5 {name} {total_engine:.1f}; upload + engine_5 {bound:.1f}; "
                f"keep_total / (upload + engine_5) {med['keep_total'] / bound:.3f} "
                f"(target <= 1.10); keep_calls / engine_5 "
                f"{med['keep_calls'] / total_engine:.3f}; recycled: keep_total_recycled / "
                f"(upload + engine_5) {med['keep_total_recycled'] / bound:.3f}"
            )
        for s, r in zip(SIGMAS, first, strict=False):
            path = os.path.join(args.work, f"out_{s:g}.npy")
            checks[f"service sigma {s:g} == engine in-process"] = (
                np.load(path).tobytes() == r.tobytes()
            )
    del first

    if args.link_runs:
        proxy = Proxy(args.grpc, args.rate)
        try:
            with tw.Client(f"127.0.0.1:{proxy.port}") as c:
                # Warm-up through the link: a small call (channel, window growth).
                c.gaussian_filter(a[:256], 1.0)
                link_times = link(c, a, args.link_runs)
        finally:
            proxy.close()
        lmed = {k: report(k, v) for k, v in link_times.items()}
        print(
            f"stored5/upload5 through {args.rate / 1e6:.0f} MB/s speed-up "
            f"{lmed['link_upload5'] / lmed['link_stored5']:.2f}x; "
            f"{a.nbytes / args.rate * 1e3:.0f} ms per 256 MiB at that rate"
        )

    pipe = pipeline(args.grpc, args.http, a)
    print(f"pipeline {pipe['ms']:.1f} ms; describe: {pipe['info']}")
    for name in ("put", "pipeline"):
        rows, (up, down) = pipe[name]
        print(f"{name}: /metrics bytes (method received sent)")
        total = [0, 0]
        for method, v in sorted(rows.items()):
            print(f"  {method} {v['received']} {v['sent']}")
            total[0] += v["received"]
            total[1] += v["sent"]
        print(f"  total {total[0]} {total[1]} ({sum(total) / a.nbytes:.6f} x 256 MiB)")
        print(f"  socket (proxy) up {up} down {down} ({(up + down) / a.nbytes:.6f} x 256 MiB)")

    print("checks:")
    for k, v in checks.items():
        print(f"  {k}: {'ok' if v else 'FAILED'}")
    print(f"# load after: {loadavg()}", flush=True)
    if not all(checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
