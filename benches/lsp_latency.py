#!/usr/bin/env python3
"""Language-server latency: time from a `didChange` to the diagnostics it causes.

usage: lsp_latency.py --facs PATH [N] [--edits K]

Generates the build benchmark's project with N instances (default 1000), starts
`facs lsp` on it, opens one instance file, then alternately breaks it (an
unresolved interpolation: E010) and fixes it, K times. Each edit must publish
diagnostics for that file (the error, then an empty list); the time from sending
the change to receiving that notification is the latency. Prints min, median and
max and appends the line to benches/results-lsp.txt.
"""
import argparse, json, os, select, shutil, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--facs", required=True)
    ap.add_argument("n", nargs="?", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=10)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="facs-lsp-")
    try:
        subprocess.run([sys.executable, os.path.join(here, "gen_project.py"), str(a.n), work], check=True,
                       stdout=subprocess.DEVNULL)
        files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(work) for f in fs if f.endswith(".facs"))
        target = next(f for f in files if "instances" in f)
        text = open(target).read()
        uri = "file://" + target
        p = subprocess.Popen([a.facs, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

        def send(msg):
            body = json.dumps(msg).encode()
            p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            p.stdin.flush()

        def read(timeout):
            ready, _, _ = select.select([p.stdout], [], [], timeout)
            if not ready:
                return None
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                header += p.stdout.read(1)
            length = int(header.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            return json.loads(p.stdout.read(length))

        def wait_publish(timeout=60):
            deadline = time.time() + timeout
            while time.time() < deadline:
                m = read(deadline - time.time())
                if m and m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri:
                    return m["params"]["diagnostics"]
            raise SystemExit("no diagnostics published within %ss" % timeout)

        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"processId": None, "rootUri": "file://" + work, "capabilities": {}}})
        while True:
            m = read(120)
            if m is None or m.get("id") == 1:
                break
        send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
              "params": {"textDocument": {"uri": uri, "languageId": "facs", "version": 1, "text": text}}})
        time.sleep(1.0)
        while read(0.5):
            pass
        broken = text + '\ninstance lsp_probe inherits base { label: "${no_such_key}" }\n'
        times = []
        for k in range(a.edits):
            body = broken if k % 2 == 0 else text
            start = time.perf_counter()
            send({"jsonrpc": "2.0", "method": "textDocument/didChange",
                  "params": {"textDocument": {"uri": uri, "version": k + 2}, "contentChanges": [{"text": body}]}})
            diagnostics = wait_publish()
            times.append((time.perf_counter() - start) * 1000)
            if (k % 2 == 0) != bool(diagnostics):
                raise SystemExit("edit %d: unexpected diagnostics %r" % (k, diagnostics[:1]))
        send({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
        send({"jsonrpc": "2.0", "method": "exit", "params": None})
        p.wait(timeout=10)
        line = ("lsp latency, N=%d instances, %d edits: min %.0f ms, median %.0f ms, max %.0f ms (targets: median < 50 ms, max < 100 ms)"
                % (a.n, len(times), min(times), statistics.median(times), max(times)))
        print(line)
        with open(os.path.join(here, "results-lsp.txt"), "w") as f:
            f.write(line + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
