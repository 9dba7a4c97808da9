"""RemoteMonitor: POST each epoch's logs to a server, as Keras 3 (with
urllib instead of the requests library)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from .callback import Callback


class RemoteMonitor(Callback):
    """Sends `{"epoch": epoch, **logs}` to `root + path` at each epoch's
    end: as the form field `field` holding JSON, or as a JSON body with
    `send_as_json=True`.

    Args:
        root: the server's root URL ("http://localhost:9000").
        path: the path the events go to ("/publish/epoch/end/").
        field: the form field holding the JSON data ("data").
        headers: extra HTTP headers (a dict).
        send_as_json: send the data as the request's JSON body.
    """

    def __init__(self, root="http://localhost:9000",
                 path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) \
                else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode(
                {self.field: json.dumps(send)}).encode()
            headers.setdefault("Content-Type",
                               "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body,
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except (urllib.error.URLError, OSError):
            warnings.warn(
                "Could not reach RemoteMonitor root server at "
                f"{self.root}", stacklevel=2)
