# Runs ansible-inventory (Ansible's own InventoryCLI) many times in one
# Python process, each run writing its result with --output: a test of
# output options pays Ansible's start-up once, not once per run.
# argv[1]: JSON list of argument lists (each with its --output FILE).
# Prints a JSON list of {"code": exit status, "stderr": text}.
import contextlib
import io
import json
import sys

from ansible.cli.inventory import InventoryCLI
from ansible.utils.context_objects import GlobalCLIArgs

results = []
for args in json.loads(sys.argv[1]):
    # The parsed command line is a process-wide singleton: start afresh for each run.
    GlobalCLIArgs._Singleton__instance = None
    err = io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stderr(err):
            InventoryCLI(["ansible-inventory"] + args).run()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except Exception as e:  # an error ansible-inventory would print and exit 1 on
        code = 1
        err.write(str(e))
    results.append({"code": code, "stderr": err.getvalue()})
print(json.dumps(results))
