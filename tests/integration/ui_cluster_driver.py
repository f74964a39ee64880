#!/usr/bin/env python3
"""Drives headless Chromium through chromedriver (WebDriver over plain HTTP,
standard library only) against troupe's web UI on a cluster of three
hosts, for t118. It runs in the namespace of the host whose UI it opens.

usage: ui_cluster_driver.py DRIVER_URL AGENT_URL SCREENSHOT_DIR VICTIM VICTIM_PID FAIL_CMD

Asserts, without reloading the page once it opened: the map and the table
list the three nodes alive; Tab reaches the skip link first, then each
control with a visible focus ring; the supervised service "ticker" has an
instance view whose logs show a line the instance printed after the page
opened; FAIL_CMD (a shell command: a TTL check of another host fails)
turns that instance critical; VICTIM killed with SIGKILL is shown dead at
most 2 s after the agent itself declares it dead; the event timeline shows
the death, and its node and kind filters keep only the matching events.
A token in $TROUPE_UI_TOKEN is typed into the page's token field first.
Any JavaScript error or console error fails. Saves screenshots in
SCREENSHOT_DIR, one of them at a phone's width. Exits 0 on success, 1
with a message."""
import os
import signal
import subprocess
import sys
import time

from ui_webdriver import call, fail, js, no_errors, setup, shot, start, stop, wait_for

DRIVER, AGENT, SHOTS, VICTIM, VICTIM_PID, FAIL_CMD = sys.argv[1:7]
VICTIM_PID = int(VICTIM_PID)
TOKEN = os.environ.get("TROUPE_UI_TOKEN", "")
setup(DRIVER, SHOTS, 0.1)


def api_status(name):
    hdr = {"X-Troupe-Token": TOKEN} if TOKEN else {}
    members = call("GET", "/v1/members", base=AGENT, headers=hdr)
    return next((m["status"] for m in members if m["name"] == name), None)


def press_tab():
    call("POST", "/session/%s/actions" % session, {"actions": [{"type": "key", "id": "kb", "actions": [
        {"type": "keyDown", "value": "\ue004"}, {"type": "keyUp", "value": "\ue004"}]}]})


def window(w, h):
    call("POST", "/session/%s/window/rect" % session, {"width": w, "height": h})


NODE_ROW = "document.querySelector('#nodes-t tr[data-node=\"%s\"]')"
MAP_BOX = "document.querySelector('#map li[data-node=\"%s\"]')"
SAME_PAGE = "document.documentElement.dataset.loaded === 'once'"

session = start(1280, 1000)
try:
    call("POST", "/session/%s/url" % session, {"url": AGENT + "/ui"})
    js("document.documentElement.dataset.loaded = 'once'")
    if TOKEN:
        js("document.getElementById('token').value = arguments[0];"
           "document.getElementById('token-f').requestSubmit()", TOKEN)
        wait_for("the page holds the token", "return sessionStorage.getItem('troupe-token') !== null")
    for n in ("h1", "h2", "h3"):
        wait_for("the table and the map list %s alive" % n,
                 "const r = %s, b = %s; return r && r.dataset.status === 'alive' && "
                 "b && b.dataset.status === 'alive'" % (NODE_ROW % n, MAP_BOX % n))
    wait_for("the map shows api on h2 passing",
             "const b = %s; return b && b.querySelector('[data-instance=\"api\"]')"
             "?.dataset.health === 'passing'" % (MAP_BOX % "h2"))
    shot("cluster")

    # keyboard: Tab reaches the skip link first, then every control, each
    # with a visible focus ring
    seen = []
    for _ in range(12):
        press_tab()
        f = js("const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();"
               "return {tag: e.tagName, text: (e.textContent || e.id || '').trim().slice(0, 30),"
               " outline: s.outlineStyle, width: parseFloat(s.outlineWidth), left: r.left}")
        if f["tag"] == "BODY" or f["outline"] == "none" or f["width"] < 2 or f["left"] < 0:
            fail("Tab %d focused %s with no visible focus (%s)" % (len(seen) + 1, f["text"], f))
        seen.append(f["text"] or f["tag"])
    if seen[0] != "Skip to content":
        fail("the first Tab focuses %r, not the skip link" % seen[0])
    print("ok: Tab walks %s, each with a visible focus ring" % ", ".join(seen))
    js("document.activeElement.blur()")

    # the instance view: its facts, then its logs following live
    wait_for("this node's instances list ticker running",
             "const r = document.querySelector('#ps-t tr[data-service=\"ticker\"]');"
             "return r && r.dataset.state === 'running'")
    js("document.querySelector('#ps-t tr[data-service=\"ticker\"] a').click()")
    wait_for("the instance view opens with its state",
             "const s = document.getElementById('instance');"
             "return !s.hidden && s.dataset.state === 'running' && location.hash === '#instance/ticker/0'")
    wait_for("the instance view shows its ports", "return document.querySelector("
             "'#inst-d dd[data-fact=\"Ports\"]')?.textContent.includes('http=')")
    wait_for("the log view shows lines", "return document.querySelectorAll('#logs div').length > 0")
    opened_ms = int(time.time() * 1000)
    wait_for("the log view shows a line printed after the page opened (%d)" % opened_ms,
             "return [...document.querySelectorAll('#logs div')].some((d) => {"
             " const m = /tick (\\d+)/.exec(d.textContent); return m && Number(m[1]) > %d; })"
             % (opened_ms + 300), limit=10)
    wait_for("the page was not reloaded", "return " + SAME_PAGE)
    shot("instance-logs")

    # a failing check turns its instance critical
    js("location.hash = '#services'")
    wait_for("api is passing", "return document.querySelector('#services-list "
             "tr[data-instance=\"api\"]')?.dataset.health === 'passing'")
    out = subprocess.run(FAIL_CMD, shell=True, capture_output=True, text=True)
    if out.returncode != 0:
        fail("%s: %s %s" % (FAIL_CMD, out.stdout, out.stderr))
    print("failed the check of api: " + FAIL_CMD)
    wait_for("api's instance shown critical without a reload",
             "const r = document.querySelector('#services-list tr[data-instance=\"api\"]');"
             "const b = document.querySelector('#map [data-instance=\"api\"]');"
             "return %s && r && r.dataset.health === 'critical' && b && b.dataset.health === 'critical'"
             % SAME_PAGE)
    shot("critical")

    # kill -9 of a node: dead on the page at most 2 s after the agent says so
    os.kill(VICTIM_PID, signal.SIGKILL)
    killed = time.time()
    print("killed %s (pid %d) with SIGKILL" % (VICTIM, VICTIM_PID))
    api_dead = page_dead = None
    while time.time() - killed < 30 and (api_dead is None or page_dead is None):
        if api_dead is None and api_status(VICTIM) == "dead":
            api_dead = time.time() - killed
        if page_dead is None and js("const r = %s, b = %s; return %s && r && r.dataset.status === 'dead'"
                                    " && b && b.dataset.status === 'dead'"
                                    % (NODE_ROW % VICTIM, MAP_BOX % VICTIM, SAME_PAGE)):
            page_dead = time.time() - killed
        time.sleep(0.05)
    if api_dead is None or page_dead is None:
        fail("%s not dead after 30 s: agent %s, page %s" % (VICTIM, api_dead, page_dead))
    print("ok: the agent declared %s dead after %d ms, the page showed it after %d ms"
          % (VICTIM, api_dead * 1000, page_dead * 1000))
    if page_dead > api_dead + 2:
        fail("the page showed %s dead %.1f s after the agent's detection (limit 2 s)"
             % (VICTIM, page_dead - api_dead))

    # the timeline shows the kill; its filters keep what they should
    js("location.hash = '#events'")
    wait_for("the timeline shows %s dead" % VICTIM,
             "return [...document.querySelectorAll('#events-l li[data-kind=\"member\"]')]"
             ".some((li) => li.dataset.node === '%s' && li.textContent.includes('dead'))" % VICTIM)
    js("const s = document.getElementById('ev-node'); s.value = arguments[0];"
       "s.dispatchEvent(new Event('change'))", VICTIM)
    wait_for("the node filter keeps only %s's events" % VICTIM,
             "const l = [...document.querySelectorAll('#events-l li')];"
             "return l.length > 0 && l.every((li) => li.dataset.node === '%s')" % VICTIM)
    js("const k = document.getElementById('ev-kind'); k.value = 'member';"
       "k.dispatchEvent(new Event('change'))")
    wait_for("kind member and node %s together: its member events" % VICTIM,
             "const l = [...document.querySelectorAll('#events-l li')];"
             "return l.length > 0 && l.every((li) => li.dataset.node === '%s' && "
             "li.dataset.kind === 'member')" % VICTIM)
    js("const s = document.getElementById('ev-node'); s.value = '';"
       "const k = document.getElementById('ev-kind'); k.value = 'sup-start';"
       "s.dispatchEvent(new Event('change'))")
    wait_for("the kind filter keeps only the supervisor's starts",
             "const l = [...document.querySelectorAll('#events-l li')];"
             "return l.length > 0 && l.every((li) => li.dataset.kind === 'sup-start')")
    js("const k = document.getElementById('ev-kind'); k.value = '';"
       "k.dispatchEvent(new Event('change'))")
    wait_for("the page was not reloaded", "return " + SAME_PAGE)
    js("document.getElementById('events').scrollIntoView()")
    shot("dead")

    # the KV tree, and the page at a phone's width
    wait_for("the KV tree shows app/ with its keys",
             "const d = document.querySelector('#kv-tree details[data-prefix=\"app/\"]');"
             "return d && d.querySelector('[data-key=\"app/db/url\"]') !== null")
    window(390, 844)
    js("document.getElementById('nodes').scrollIntoView()")
    wide = js("return document.documentElement.scrollWidth")
    if wide > 400:
        fail("at a phone's width (390 px) the page is %d px wide" % wide)
    print("ok: at 390 px the page is %d px wide" % wide)
    shot("phone")
    no_errors("JavaScript or console errors")
finally:
    stop()
