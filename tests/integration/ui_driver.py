#!/usr/bin/env python3
"""Drives headless Chromium through chromedriver (WebDriver over plain HTTP,
standard library only) against troupe's web UI, for t117.

usage: ui_driver.py DRIVER_URL AGENT_URL NODE SCREENSHOT_DIR [PEER PEER_PID]

Loads AGENT_URL/ui and asserts that the page lists NODE as alive and the
service "web" as passing; then registers the service "late" through the
API and asserts that it appears without a reload (same document, the page
renders again from its blocking query). With PEER: the page lists it alive,
then the driver kills PEER_PID with SIGKILL and the page must show it dead,
again without a reload. With ROUTE_PORT in the environment: registers a
second instance of web at version v2, sets a route of web on that port with
a 90/10 split of v1 and v2 and a header match, and asserts that the
service shows the route, its versions and weights without a reload. Any
JavaScript error fails. Saves screenshots in SCREENSHOT_DIR. Calls to the
agent carry $TROUPE_UI_TOKEN when set. Exits 0 on success, 1 with a
message."""
import os
import signal
import sys

from ui_webdriver import call as wd_call
from ui_webdriver import fail, js, no_errors, setup, shot, start, stop, wait_for

DRIVER, AGENT, NODE, SHOTS = sys.argv[1:5]
PEER, PEER_PID = (sys.argv[5], int(sys.argv[6])) if len(sys.argv) > 6 else (None, 0)
ROUTE_PORT = int(os.environ.get("ROUTE_PORT", "0"))
setup(DRIVER, SHOTS)

# the API's writes need a token: the test's, from $TROUPE_UI_TOKEN
TOKEN = os.environ.get("TROUPE_UI_TOKEN", "")


def call(method, path, body=None, base=None, timeout=60):
    """ui_webdriver's call, with the token on calls to the agent."""
    headers = {"X-Troupe-Token": TOKEN} if base == AGENT and TOKEN else None
    return wd_call(method, path, body, base=base, timeout=timeout, headers=headers)


session = start(1280, 900)
try:
    call("POST", "/session/%s/url" % session, {"url": AGENT + "/ui"})
    wait_for("the page lists node %s as alive" % NODE,
             "const r = document.querySelector('#nodes-t tr[data-node=\"%s\"]');"
             "return r && r.dataset.status === 'alive'" % NODE)
    wait_for("the service web is listed as passing",
             "const s = document.querySelector('[data-service=\"web\"]');"
             "return s && s.dataset.health === 'passing' && "
             "s.querySelector('tr[data-instance]') !== null")
    wait_for("the failing service is listed as critical",
             "const s = document.querySelector('#services-list [data-service=\"shut\"]');"
             "return s && s.dataset.health === 'critical'")
    js("document.documentElement.dataset.loaded = 'once'")
    shot("loaded")
    renders = js("return Number(document.body.dataset.renders)")
    call("PUT", "/v1/agent/service/register",
         {"name": "late", "port": 8088, "tags": ["new"]}, base=AGENT)
    print("registered the service late through the API")
    wait_for("late appears without a reload",
             "return document.documentElement.dataset.loaded === 'once' && "
             "document.querySelector('#services-list [data-service=\"late\"]') !== null")
    after = js("return Number(document.body.dataset.renders)")
    if after <= renders:
        fail("the page did not render again (%d -> %d)" % (renders, after))
    wait_for("the event history shows the registration",
             "return [...document.querySelectorAll('#events-l li')]"
             ".some((li) => li.textContent.includes('registered late'))")
    shot("late")
    if ROUTE_PORT:
        call("PUT", "/v1/agent/service/register",
             {"name": "web", "id": "web-v2", "port": 82, "version": "v2"}, base=AGENT)
        call("PUT", "/v1/routes",
             {"name": "web", "service": "web", "port": ROUTE_PORT, "protocol": "http",
              "split": {"v1": 90, "v2": 10},
              "match": [{"header": "x-canary", "value": "1", "version": "v2"}]}, base=AGENT)
        print("set route web on port %d: v1 90, v2 10, x-canary: 1 -> v2" % ROUTE_PORT)
        route = "document.querySelector('#svc-web [data-route=\"web\"]')"
        wait_for("web shows its route, port and protocol without a reload",
                 "const r = %s; return document.documentElement.dataset.loaded === 'once' && "
                 "r && r.dataset.port === '%d' && r.dataset.protocol === 'http' && "
                 "r.textContent.includes('port %d, http')" % (route, ROUTE_PORT, ROUTE_PORT))
        wait_for("the route shows v1 at 90 and v2 at 10, one instance each",
                 "const r = %s; if (!r) return false;"
                 "const row = (v) => r.querySelector('tr[data-version=\"' + v + '\"]');"
                 "const a = row('v1'), b = row('v2');"
                 "return a && b && a.dataset.weight === '90' && b.dataset.weight === '10' && "
                 "a.textContent.includes('90 (90%%)') && b.textContent.includes('10 (10%%)') && "
                 "a.cells[1].textContent === '1' && b.cells[1].textContent === '1'" % route)
        wait_for("the route shows its header match",
                 "const r = %s; const m = r && r.querySelector('li[data-header=\"x-canary\"]');"
                 "return m && m.dataset.version === 'v2' && m.textContent.includes('x-canary: 1')"
                 % route)
        js("document.getElementById('svc-web').scrollIntoView()")
        shot("route")
    if PEER:
        row = "document.querySelector('#nodes-t tr[data-node=\"%s\"]')" % PEER
        wait_for("the page lists %s as alive" % PEER,
                 "const r = %s; return r && r.dataset.status === 'alive'" % row)
        os.kill(PEER_PID, signal.SIGKILL)
        print("killed %s (pid %d) with SIGKILL" % (PEER, PEER_PID))
        wait_for("%s shown dead without a reload" % PEER,
                 "const r = %s; return document.documentElement.dataset.loaded === 'once' && "
                 "r && r.dataset.status === 'dead'" % row, limit=20)
        wait_for("the event history shows the death",
                 "return [...document.querySelectorAll('#events-l li')]"
                 ".some((li) => li.textContent.includes('%s') && li.textContent.includes('dead'))"
                 % PEER)
        shot("dead")
    no_errors("JavaScript errors")
finally:
    stop()
