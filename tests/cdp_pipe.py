"""A headless Chromium driven over the DevTools protocol on a pipe (tests only, stdlib only).

Chromium's `--remote-debugging-pipe` reads NUL-terminated JSON commands on fd 3 and writes the
replies on fd 4; no websocket library is needed.
"""
import json
import os
import shutil
import subprocess
import tempfile

BINARIES = ("chromium", "chromium-browser", "google-chrome", "chrome")
# Text of a page including every shadow root (TensorBoard's dashboards are web components).
PAGE_TEXT_JS = """(() => { const out = [];
  const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot);
    for (const c of n.childNodes) {
      if (c.nodeType === 3) { const t = c.textContent.trim(); if (t) out.push(t); }
      else if ((c.nodeType === 1 && c.tagName !== 'STYLE' && c.tagName !== 'SCRIPT')
               || c.nodeType === 11) walk(c); } };
  walk(document); return out.join('|'); })()"""


def find_chromium():
    """Path of a Chromium/Chrome binary, or None."""
    return next((p for p in map(shutil.which, BINARIES) if p), None)


def _onto_3_4(read_fd, write_fd):
    """In the child: the pipe ends onto fds 3 and 4 (dup first: the ends may already be 3 or 4)."""
    a, b = os.dup(read_fd), os.dup(write_fd)
    os.dup2(a, 3)
    os.dup2(b, 4)


class Browser:
    """`with Browser(binary) as b: b.open(url); b.evaluate(js)`."""

    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="cdp-profile-")
        to_chrome, self._out = os.pipe()
        self._in, from_chrome = os.pipe()
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=lambda: _onto_3_4(to_chrome, from_chrome))
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer, self._id, self.session = b"", 0, None

    def call(self, method, **params):
        """Send one command (to the open page once `open` ran) and return its result."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._in, 1 << 16)
                if not chunk:
                    raise RuntimeError("the browser closed its debugging pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url):
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        for fd in (self._in, self._out):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)
