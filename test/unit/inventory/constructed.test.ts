// The constructed plugin's own errors: what postfleet does not evaluate and
// malformed options stop the inventory at the file and line of the entry,
// whether or not `strict` is set (never a silently missing group).
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InventoryError, loadInventory } from "../../../src/inventory/index.js";

const HOSTS = "all:\n  hosts:\n    h1: {os: debian, n: 1}\n    h2: {os: ''}\n";

async function load(constructed: string): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-constructed-"));
  writeFileSync(join(dir, "a.yml"), HOSTS);
  writeFileSync(join(dir, "b.yml"), constructed);
  return loadInventory({ sources: [join(dir, "a.yml"), join(dir, "b.yml")], cwd: dir, warn: () => {}, ansibleConfig: null });
}

describe("constructed plugin errors", () => {
  it.each([
    ["plugin: constructed\ncompose:\n  x: n + 1\n", /b\.yml:3: the operator '\+' is not supported by postfleet's Jinja2/],
    ["plugin: constructed\nstrict: false\ngroups:\n  g: os.startswith('d')\n", /b\.yml:4: a function or method call \('os\.startswith\(\.\.\.\)'\)/],
    ["plugin: constructed\nkeyed_groups:\n  - key: os | truncate(2)\n", /b\.yml:3: the filter 'truncate' is not supported/],
    ["plugin: constructed\nkeyed_group:\n  - key: os\n", /b\.yml:2: unknown option 'keyed_group'/],
    ["plugin: constructed\nkeyed_groups:\n  - key: os\n    prefx: os\n", /b\.yml:4: unknown option 'prefx' in keyed_groups entry 1/],
    ["plugin: constructed\ngroups: [a]\n", /b\.yml:2: option groups of the constructed plugin must be a mapping/],
    ["plugin: constructed\nstrict: true\ngroups:\n  deb: n > 0 or os == 'x'\n", /b\.yml:4: could not add host h2 to group deb: 'n' is undefined/],
  ])("%s", async (text, message) => {
    const err = await load(text).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InventoryError);
    expect((err as Error).message).toMatch(message);
  });

  it("without strict a failing condition leaves the host out, as Ansible does", async () => {
    const inv = (await load("plugin: constructed\ngroups:\n  deb: n > 0 or os == 'x'\n  named: os is defined\n")) as Awaited<ReturnType<typeof loadInventory>>;
    expect(inv.selectHosts("deb")).toEqual(["h1"]);
    expect(inv.selectHosts("named")).toEqual(["h1", "h2"]);
  });

  it("another plugin is still refused", async () => {
    await expect(load("plugin: aws_ec2\nregions: [eu-west-1]\n")).rejects.toThrow(/plugin: aws_ec2\) is not supported/);
  });
});
