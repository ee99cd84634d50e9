"""A persistent-mode program that answers start properly, then prints garbage for every load."""

from __future__ import annotations

import json
import sys

for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "start":
        print(json.dumps({"seq": request["seq"], "started": {"implementation": "garbage", "version": "0"}}), flush=True)
    elif request["op"] == "load":
        print("this is not JSON", flush=True)
    else:
        break
