#!/usr/bin/python3
"""consul_client.py COMMAND [ARGS]: one call of Debian's python3-consul
(Consul's own client library) against the agent at 127.0.0.1:8500 of the
namespace it runs in, with the token in CONSUL_TOKEN. Prints what the call
returned as JSON, exits 1 when it is not what the command expects. Used
by t119-api-consul.sh, which runs it on each host."""
import json
import os
import sys
import time

import consul

c = consul.Consul(host="127.0.0.1", port=8500, token=os.environ.get("CONSUL_TOKEN"))
# python3-consul 0.7 sends ?token= on some calls only (not on the TTL
# reports): its session sends X-Consul-Token with every call, as newer
# Consul clients do
c.http.session.headers["X-Consul-Token"] = os.environ.get("CONSUL_TOKEN", "")


def out(v):
    print(json.dumps(v, default=lambda b: b.decode() if isinstance(b, bytes) else str(b)))


def check(ok, what):
    if not ok:
        print("consul_client: " + what, file=sys.stderr)
        sys.exit(1)


def main(cmd, args):
    if cmd == "register":  # NAME ID PORT TAG: with a ttl check
        name, sid, port, tag = args
        check(c.agent.service.register(name, service_id=sid, port=int(port), tags=[tag],
                                       check=consul.Check.ttl("60s")), "register")
    elif cmd == "ttl":  # pass|fail CHECK_ID
        fn = {"pass": c.agent.check.ttl_pass, "fail": c.agent.check.ttl_fail}[args[0]]
        check(fn(args[1], notes="from python3-consul"), "ttl " + args[0])
    elif cmd == "check-register":  # NAME SERVICE_ID: a ttl check of that service
        check(c.agent.check.register(args[0], check=consul.Check.ttl("30s"), notes="n",
                                     service_id=args[1]), "check.register")
    elif cmd == "check-deregister":  # CHECK_ID
        check(c.agent.check.deregister(args[0]), "check.deregister")
    elif cmd == "deregister":
        check(c.agent.service.deregister(args[0]), "deregister")
    elif cmd == "passing":  # NAME N: prints the nodes
        _, nodes = c.health.service(args[0], passing=True)
        out(sorted(n["Node"]["Node"] for n in nodes))
        check(len(nodes) == int(args[1]), "%d passing, not %s" % (len(nodes), args[1]))
    elif cmd == "catalog":  # NAME NODE PORT TAG
        _, services = c.catalog.services()
        check(services.get(args[0]) == [args[3]], "catalog.services: %r" % services)
        _, rows = c.catalog.service(args[0], tag=args[3])
        out(rows)
        check(len(rows) == 1 and rows[0]["Node"] == args[1] and
              rows[0]["ServicePort"] == int(args[2]), "catalog.service")
        _, nodes = c.catalog.nodes()
        check(len(nodes) == 3, "catalog.nodes: %d" % len(nodes))
    elif cmd == "kv-put":
        check(c.kv.put(args[0], args[1]) is True, "kv.put")
    elif cmd == "kv-get":  # KEY VALUE|-: - for absent
        _, e = c.kv.get(args[0])
        out(e)
        check((e is None) if args[1] == "-" else (e is not None and e["Value"] == args[1].encode()),
              "kv.get %s" % args[0])
    elif cmd == "kv-recurse":  # PREFIX N
        _, es = c.kv.get(args[0], recurse=True)
        out(es)
        check(es is not None and len(es) == int(args[1]), "kv.get recurse")
    elif cmd == "kv-keys":  # PREFIX SEP KEY...
        _, ks = c.kv.get(args[0], keys=True, separator=args[1])
        out(ks)
        check(ks == args[2:], "kv.get keys")
    elif cmd == "kv-delete":  # PREFIX
        check(c.kv.delete(args[0], recurse=True) is True, "kv.delete")
    elif cmd == "kv-cas":  # refused with a reason
        try:
            c.kv.put(args[0], "x", cas=0)
        except consul.ConsulException as e:
            out(str(e))
            check("linearizable" in str(e), "the refusal does not say why")
            return
        check(False, "kv.put with cas was accepted")
    elif cmd == "fire":
        ev = c.event.fire(args[0], args[1])
        out(ev)
        check(ev["Name"] == args[0], "event.fire")
    elif cmd == "events":  # NAME PAYLOAD
        _, evs = c.event.list(name=args[0])
        out(evs)
        check(any(e["Payload"] == args[1].encode() for e in evs), "event.list")
    elif cmd == "index":  # the index of a health read
        index, _ = c.health.service(args[0])
        print(index)
    elif cmd == "block":  # NAME INDEX N: blocks, as Consul's clients do, until N pass
        t0, index, rounds = time.time(), args[1], 0
        while True:
            new, nodes = c.health.service(args[0], passing=True, index=index, wait="60s")
            rounds += 1
            check(int(new) >= int(index), "the index went back: %s after %s" % (new, index))
            index = new
            if len(nodes) == int(args[2]):
                break
            check(time.time() - t0 < 50, "no change seen in 50 s")
        out({"index": index, "took_s": round(time.time() - t0, 2), "rounds": rounds})
        check(int(index) > int(args[1]), "the index did not move")
    elif cmd == "leader":
        check(c.status.leader() != "", "status.leader")
        check(len(c.status.peers()) == 3, "status.peers")
    else:
        check(False, "unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
