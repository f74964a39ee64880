"""The WebDriver calls that the UI drivers share (ui_driver.py for t117,
ui_cluster_driver.py for t118): plain HTTP to chromedriver, standard
library only. setup() names chromedriver's URL and the screenshot folder;
start() opens the browser session the other calls use."""
import base64
import json
import os
import time
import urllib.request

DRIVER = None
SHOTS = None
POLL_S = 0.2
session = None


def setup(driver, shots, poll_s=0.2):
    global DRIVER, SHOTS, POLL_S
    DRIVER, SHOTS, POLL_S = driver, shots, poll_s


def call(method, path, body=None, base=None, timeout=60, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request((base or DRIVER) + path, data=data, method=method,
                                 headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
        raise SystemExit("FAIL: %s %s: HTTP %d %s" % (method, path, e.code, raw[:400]))
    return json.loads(raw) if raw else None


def start(width, height):
    """Opens headless Chromium ($CHROMIUM) with a window of width x height,
    its profile in SHOTS, and keeps the browser's log."""
    global session
    caps = {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {
            "binary": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--window-size=%d,%d" % (width, height),
                     "--user-data-dir=" + os.path.join(SHOTS, "chromium-profile")]}}}}
    session = call("POST", "/session", caps)["value"]["sessionId"]
    return session


def fail(msg):
    shot("failure")
    raise SystemExit("FAIL: " + msg)


def js(script, *args):
    return call("POST", "/session/%s/execute/sync" % session,
                {"script": script, "args": list(args)})["value"]


def shot(name):
    if not session:
        return
    try:
        png = call("GET", "/session/%s/screenshot" % session)["value"]
        path = os.path.join(SHOTS, "ui-%s.png" % name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        print("screenshot: " + path)
    except SystemExit:
        pass


def wait_for(what, script, limit=15):
    start_s = time.time()
    while time.time() - start_s < limit:
        v = js(script)
        if v:
            print("ok: %s (%d ms)" % (what, (time.time() - start_s) * 1000))
            return v
        time.sleep(POLL_S)
    fail("after %ds: %s; errors: %s" % (limit, what, js("return window.uiErrors || []")))


def errors():
    errs = js("return window.uiErrors || []")
    try:  # the browser's console, where chromedriver offers it
        logs = call("POST", "/session/%s/se/log" % session, {"type": "browser"})["value"]
        errs += [l["message"] for l in logs if l.get("level") == "SEVERE"]
    except SystemExit:
        pass
    return errs


def no_errors(what):
    """Fails with what and the errors when the page or the console had any."""
    errs = errors()
    if errs:
        fail("%s: %s" % (what, errs))
    print("ok: no JavaScript error")


def stop():
    call("DELETE", "/session/%s" % session)
