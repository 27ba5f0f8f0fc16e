// Differential tests of host patterns: `ansible PATTERN --list-hosts` (real
// Ansible 2.14) against postfleet's selection, order included.
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../src/inventory/index.js";
import { ansibleListHosts, CORPUS, postfleet } from "./ansible.js";

const load = (sources: string[], warn: (m: string) => void = () => {}) =>
  loadInventory({ sources, cwd: CORPUS, warn, ansibleConfig: null });

// [sources, pattern, limit?]
const PATTERNS: [string[], string, string?][] = [
  [["09-overlap.ini"], "all"],
  [["09-overlap.ini"], "*"],
  [["09-overlap.ini"], "web"],
  [["09-overlap.ini"], "web:db"],
  [["09-overlap.ini"], "web,db"],
  [["09-overlap.ini"], "db:web"],
  [["09-overlap.ini"], "web:&eu"],
  [["09-overlap.ini"], "web:!eu"],
  [["09-overlap.ini"], "prod:!canary"],
  [["09-overlap.ini"], "prod:&us:!canary"],
  [["09-overlap.ini"], "!canary"],
  [["09-overlap.ini"], "&eu"],
  [["09-overlap.ini"], "mail:web:&us"],
  [["09-overlap.ini"], "www*"],
  [["09-overlap.ini"], "*1"],
  [["09-overlap.ini"], "mx0?"],
  [["09-overlap.ini"], "w*:&canary"],
  [["09-overlap.ini"], "~(www|db)[12]"],
  [["09-overlap.ini"], "~mx"],
  [["09-overlap.ini"], "~^d"],
  [["09-overlap.ini"], "web[0]"],
  [["09-overlap.ini"], "web[-1]"],
  [["09-overlap.ini"], "web[1:2]"],
  [["09-overlap.ini"], "web[2:]"],
  [["09-overlap.ini"], "prod[0:3]"],
  [["09-overlap.ini"], "prod[3:]:!db2"],
  [["09-overlap.ini"], "web[0],db[-1]"],
  [["09-overlap.ini"], "www1,db3,mx01"],
  [["09-overlap.ini"], "mx02:www1"],
  [["09-overlap.ini"], "nosuch"],
  [["09-overlap.ini"], "web:nosuch:db"],
  [["09-overlap.ini"], "[wd]*"],
  [["09-overlap.ini"], "[!wd]*"],
  [["09-overlap.ini"], "ungrouped"],
  [["09-overlap.ini"], "all:!prod"],
  [["09-overlap.ini"], "all", "eu"],
  [["09-overlap.ini"], "prod", "canary:db1"],
  [["09-overlap.ini"], "prod", "!us"],
  [["09-overlap.ini"], "web:db", "@limit-eu.txt"],
  [["09-overlap.ini"], "*", "~.*2$"],
  [["01-basic.ini"], "outbound"],
  [["01-basic.ini"], "*.example.net"],
  [["01-basic.ini"], "mx*"],
  [["01-basic.ini"], "mx*[2]"],
  [["01-basic.ini"], "mx*[1:]"],
  [["01-basic.ini"], "*example*:!mx"],
  [["01-basic.ini"], "ungrouped"],
  [["01-basic.ini"], "bastion.example.net"],
  [["01-basic.ini"], "outbound:&submission"],
  [["03-ranges.ini"], "numbered[0:4]"],
  [["03-ranges.ini"], "mta0[1-3]*"],
  [["03-ranges.ini"], "mta[01:03].fra.example.net"],
  [["03-ranges.ini"], "lettered:!cache*"],
  [["03-ranges.ini"], "parents[-2]"],
  [["03-ranges.ini"], "~edge-[a-c]"],
  [["03-ranges.ini"], "*[2]"],
  [["04-nested.yml"], "region"],
  [["04-nested.yml"], "country:!dc"],
  [["04-nested.yml"], "city:&standalone"],
  [["04-nested.yml"], "r*"],
  [["04-nested.yml"], "*.dc.example.org"],
  [["05-priority.yml"], "beta:gamma"],
  [["05-priority.yml"], "zeta:alpha"],
  [["06-dir"], "edge"],
  [["06-dir"], "in*"],
  [["06-dir"], "all:!edge"],
  [["07-script.sh"], "site_fra"],
  [["07-script.sh"], "dyn-*"],
  [["10-deepchain.yml"], "l1"],
  [["10-deepchain.yml"], "l3:side"],
  [["10-deepchain.yml"], "l1[-2]"],
  [["14-groups-only.ini"], "all_mta"],
  [["14-groups-only.ini"], "e*:c*"],
  [["01-basic.ini", "09-overlap.ini"], "mx:mail"],
];

describe("host patterns: ansible PATTERN --list-hosts vs postfleet", () => {
  it("has at least 60 patterns", () => {
    expect(PATTERNS.length).toBeGreaterThanOrEqual(60);
  });

  it.each(PATTERNS)("%j %s (limit %s)", async (sources, pattern, limit) => {
    const warnings: string[] = [];
    const inv = await load(sources, (m) => warnings.push(m));
    const a = await ansibleListHosts(sources, pattern, limit);
    const ours = inv.selectHosts(pattern, limit);
    expect(ours).toEqual(a.hosts);
    const theirs = [...a.stderr.replace(/\n(?!\[)/g, " ").matchAll(/Could not match supplied host pattern, ignoring: (\S+)/g)].map((m) => m[1]);
    const mine = warnings.filter((w) => w.startsWith("Could not match")).map((w) => w.split(": ")[1]);
    expect(mine).toEqual(theirs);
  });

  it("postfleet inventory --list-hosts prints the same hosts, one per line", async () => {
    const r = await postfleet(["inventory", "-i", "09-overlap.ini", "--list-hosts", "prod:!canary", "--limit", "eu,us"]);
    const a = await ansibleListHosts(["09-overlap.ini"], "prod:!canary", "eu,us");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(a.hosts);
  });

  it("an unmatched term is a warning on stderr, not an error", async () => {
    const r = await postfleet(["inventory", "-i", "09-overlap.ini", "--list-hosts", "web:nosuch"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Could not match supplied host pattern, ignoring: nosuch");
    expect(r.stdout.trim().split("\n")).toEqual(["www1", "www2", "www3", "db1"]);
  });
});
