#!/usr/bin/env python3
"""shape.py GOLDEN_DIR NAME: compares the JSON on stdin with golden/NAME.json
field by field: the same field names, and values of the same JSON types
(string, number, boolean, null, object, array), recursively.

The golden files are answers of Consul's HTTP API written from Consul's API
documentation (its example responses), not from troupe's output. Two
conventions keep them short: an object whose only key is "<any>" is a map
whose every value has that shape (service IDs, tag lists, meta); an empty
object stands for any object. An array's items are compared with the
golden's first item. Exits 1 and prints every difference."""
import json
import sys


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(v)]


def compare(golden, got, path, out):
    if kind(golden) != kind(got):
        out.append("%s: Consul has %s, troupe %s" % (path or ".", kind(golden), kind(got)))
        return
    if isinstance(golden, dict):
        if not golden:
            return
        if list(golden) == ["<any>"]:
            for k, v in got.items():
                compare(golden["<any>"], v, "%s[%s]" % (path, json.dumps(k)), out)
            return
        for k in golden:
            if k not in got:
                out.append("%s.%s: missing" % (path, k))
        for k in got:
            if k not in golden:
                out.append("%s.%s: not Consul's" % (path, k))
            else:
                compare(golden[k], got[k], "%s.%s" % (path, k), out)
    elif isinstance(golden, list) and golden:
        for i, v in enumerate(got):
            compare(golden[0], v, "%s[%d]" % (path, i), out)


def main():
    golden_dir, name = sys.argv[1], sys.argv[2]
    with open("%s/%s.json" % (golden_dir, name)) as f:
        golden = json.load(f)
    got = json.load(sys.stdin)
    out = []
    compare(golden, got, "", out)
    if isinstance(golden, list) and golden and not got:
        out.append("[]: empty, nothing compared")
    for line in out:
        print("shape %s: %s" % (name, line))
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
