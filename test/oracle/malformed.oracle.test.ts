// Malformed sources: Ansible only warns and goes on with an empty inventory;
// postfleet stops with file:line and a non-zero exit before touching a host.
import { describe, expect, it, beforeAll } from "vitest";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InventoryError, loadInventory } from "../../src/inventory/index.js";
import { ansible, postfleet } from "./ansible.js";

let dir: string;
const BAD: [string, string, RegExp][] = [
  ["bad.yml", "all:\n  hosts:\n    a.example.com:\n   bad: [1, 2\n", /bad\.yml:\d+(:\d+)?: YAML syntax error/],
  ["unknown-section.ini", "[web]\nw1\n\n[web:foo]\nx=1\n", /unknown-section\.ini:4: section \[web:foo\] has unknown type 'foo'/],
  ["vars-undefined.ini", "[web]\nw1\n\n[db:vars]\nx=1\n", /vars-undefined\.ini:4: section \[db:vars\] is for group 'db', which is defined nowhere/],
  ["child-undefined.ini", "[web:children]\nfront\n", /child-undefined\.ini:2: section \[web:children\] includes undefined group 'front'/],
  ["bad-range.ini", "[mx]\nmx[01:5].example.com\n", /bad-range\.ini:2: host range \[01:5\] must use equal-length/],
  ["bad-range2.ini", "[mx]\nmx[a:9].example.com\n", /bad-range2\.ini:2: host range \[a:9\]/],
  ["bad-hostvar.ini", "[mx]\nmx1 notakeyvalue\n", /bad-hostvar\.ini:2: expected key=value host variable assignment, got 'notakeyvalue'/],
  ["bad-quote.ini", "[mx]\nmx1 a=\"open\n", /bad-quote\.ini:2: cannot split host line/],
  ["bad-group.yml", "all:\n  children:\n    web:\n      hostz:\n        w1:\n", /bad-group\.yml:4: unexpected key 'hostz' in group 'web'/],
  ["bad-hosts.yml", "web:\n  hosts:\n    - w1\n    - w2\n", /bad-hosts\.yml:2: 'hosts' of group 'web' must be a mapping/],
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postfleet-bad-"));
  for (const [name, text] of BAD) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, "fails.sh"), "#!/bin/sh\necho 'cannot reach the CMDB' >&2\nexit 3\n");
  writeFileSync(join(dir, "badjson.sh"), "#!/bin/sh\necho '{\"web\": {\"hosts\": [\"w1\",]}}'\n");
  writeFileSync(join(dir, "slow.sh"), "#!/bin/sh\nsleep 30\n");
  for (const s of ["fails.sh", "badjson.sh", "slow.sh"]) chmodSync(join(dir, s), 0o755);
});

describe("malformed inventories stop postfleet with file:line", () => {
  it.each(BAD)("%s", async (name, _text, message) => {
    const ours = await postfleet(["inventory", "--list", "-i", name], dir);
    expect(ours.code).toBe(1);
    expect(ours.stdout).toBe("");
    expect(ours.stderr).toMatch(message);
    const a = await ansible("ansible-inventory", ["--list", "-i", name], dir);
    // Ansible goes on (exit 0, warnings) with whatever it could read.
    expect(a.code).toBe(0);
  });

  it("a script that exits non-zero", async () => {
    const ours = await postfleet(["inventory", "--list", "-i", "fails.sh"], dir);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/fails\.sh: inventory script '.*fails\.sh --list' exited with status 3: cannot reach the CMDB/);
  });

  it("a script that prints bad JSON", async () => {
    const ours = await postfleet(["inventory", "--list", "-i", "badjson.sh"], dir);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/badjson\.sh: inventory script '.*badjson\.sh --list' printed invalid JSON/);
  });

  it("a script that does not finish in time", async () => {
    const err = await loadInventory({ sources: ["slow.sh"], cwd: dir, scriptTimeoutMs: 300, ansibleConfig: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InventoryError);
    expect((err as InventoryError).file).toMatch(/slow\.sh$/);
    expect((err as Error).message).toMatch(/did not finish within 0\.3 s/);
  });

  it("one bad source among good ones still stops everything", async () => {
    const ours = await postfleet(["inventory", "--list-hosts", "all", "-i", join(import.meta.dirname, "corpus/01-basic.ini"), "-i", "unknown-section.ini"], dir);
    expect(ours.code).toBe(1);
    expect(ours.stdout).toBe("");
  });
});
