# SPDX-License-Identifier: GPL-2.0
"""JSON assertions for the shell tests, on `tapsctl -j` output.

  tapsjson.py check EXPR WHAT   exit 0 when EXPR (Python, over d) is true
  tapsjson.py get EXPR          print EXPR's value
  tapsjson.py delta A B SPEC... stats JSON A and B (strings): each SPEC is
                                KEY=N, KEY>=N or KEY<=N on B[KEY] - A[KEY]
  tapsjson.py lines EXPR WHAT   stdin is JSON lines (monitor -j): d is the list

Anything unexpected is printed as "# ..." lines (TAP comments).
"""
import json
import re
import sys


def out(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line)


def load(text, lines=False):
    try:
        if lines:
            return [json.loads(x) for x in text.splitlines() if x.strip()]
        return json.loads(text)
    except ValueError as e:
        out("not JSON (%s): %r" % (e, text[:2000]))
        sys.exit(1)


def evaluate(expr, d):
    try:
        # Parenthesised: the shell tests split long expressions over lines.
        return eval("(" + expr + "\n)", {"d": d, "any": any, "all": all, "len": len, "set": set,
                           "sorted": sorted, "sum": sum, "min": min, "max": max})
    except Exception as e:  # the document lacks what EXPR reads
        out("%s: %s: %s" % (expr, type(e).__name__, e))
        return None


def main():
    cmd = sys.argv[1]
    if cmd in ("check", "lines"):
        text = sys.stdin.read()
        d = load(text, lines=(cmd == "lines"))
        if evaluate(sys.argv[2], d):
            return 0
        out("%s: false: %s" % (sys.argv[3] if len(sys.argv) > 3 else "", sys.argv[2]))
        out("on: " + text[:3000])
        return 1
    if cmd == "get":
        d = load(sys.stdin.read())
        v = evaluate(sys.argv[2], d)
        print(json.dumps(v) if isinstance(v, (dict, list)) or v is None else v)
        return 0
    if cmd == "delta":
        a, b = load(sys.argv[2]), load(sys.argv[3])
        bad = 0
        for spec in sys.argv[4:]:
            m = re.match(r"^(\w+)(=|>=|<=)(-?\d+)$", spec)
            if not m:
                out("bad spec " + spec)
                return 2
            key, op, n = m.group(1), m.group(2), int(m.group(3))
            if key not in a or key not in b:
                out("stats lack %s" % key)
                bad = 1
                continue
            got = b[key] - a[key]
            ok = {"=": got == n, ">=": got >= n, "<=": got <= n}[op]
            if not ok:
                out("stats %s moved by %d, want %s%d (before %d, after %d)"
                    % (key, got, op if op != "=" else "", n, a[key], b[key]))
                bad = 1
        return bad
    out("tapsjson: unknown command " + cmd)
    return 2


sys.exit(main())
