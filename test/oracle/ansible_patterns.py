import sys, json
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
from ansible.utils.display import Display
Display().verbosity = 0
req = json.load(sys.stdin)
out = []
for case in req:
    im = InventoryManager(loader=DataLoader(), sources=case["sources"])
    res = []
    for p, limit in case["patterns"]:
        im.clear_caches(); im.clear_pattern_cache()
        im.subset(limit)
        try:
            res.append([h.name for h in im.get_hosts(p)])
        except Exception as e:
            res.append("ERROR " + str(e))
    out.append(res)
json.dump(out, sys.stdout)
