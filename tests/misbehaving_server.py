"""A persistent-mode program that misbehaves on purpose, as its argument says.

* ``oom-then-segfault``: the first load prints an out-of-memory message to stderr and is rejected
  normally; the second dies of SIGSEGV (which must not be read as a memory-limit);
* ``close-stdout``: the first load closes stdout and then sleeps instead of exiting.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

mode = sys.argv[1]
loads = 0
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "start":
        print(json.dumps({"seq": request["seq"], "started": {"implementation": mode, "version": "0"}}), flush=True)
    elif request["op"] == "load":
        loads += 1
        if mode == "close-stdout":
            sys.stdout.close()
            os.close(1)
            time.sleep(600)
        if loads == 1:
            print("warning: out of memory in a cache, carrying on", file=sys.stderr, flush=True)
            print(json.dumps({"seq": request["seq"], "outcome": "rejected", "error": "no"}), flush=True)
        else:
            os.kill(os.getpid(), signal.SIGSEGV)
    else:
        break
