// A typo in a pattern or a limit must not reach the whole fleet:
// where Ansible widens the selection to every host, postfleet stops
// with an error naming the pattern and the problem.
import { describe, expect, it } from "vitest";
import { InventoryError } from "../../../src/inventory/index.js";
import { load, tree } from "../../support/inventory-files.js";

const INV = { "i.ini": "[web]\nw1\nw2\n[db]\nd1\n" };

function limitError(inv: { selectHosts(p: string, l?: string): string[] }, pattern: string, limit?: string): Error {
  try {
    const hosts = inv.selectHosts(pattern, limit);
    throw new Error(`selected ${hosts.join(",")}`);
  } catch (e) {
    expect(e).toBeInstanceOf(InventoryError);
    return e as Error;
  }
}

describe("invalid patterns are errors", () => {
  it("-l '~[' (Ansible: every host)", async () => {
    const { inv } = await load(INV, ["i.ini"]);
    expect(limitError(inv, "all", "~[").message).toMatch(/^invalid host pattern '~\[': unbalanced '\['/);
    expect(limitError(inv, "all", "web:~[").message).toMatch(/invalid host pattern 'web:~\[': unbalanced '\['/);
    expect(limitError(inv, "all", "w]").message).toMatch(/invalid host pattern 'w\]': unbalanced '\]'/);
    expect(limitError(inv, "~[").message).toMatch(/invalid host pattern '~\['/);
  });

  it("a regex that does not compile", async () => {
    const { inv } = await load(INV, ["i.ini"]);
    expect(limitError(inv, "all", "~(w").message).toMatch(/invalid host pattern '~\(w': not a valid regular expression$/);
    expect(limitError(inv, "all", "~[,web").message).toMatch(/invalid host pattern '~\[': not a valid regular expression$/);
  });

  it("an empty regex, an empty limit or an empty limit file", async () => {
    const { inv } = await load(INV, ["i.ini"]);
    expect(limitError(inv, "all", "~").message).toMatch(/'~': the regular expression after '~' is empty/);
    expect(limitError(inv, "all", "").message).toMatch(/--limit '' names no host, group or pattern/);
    expect(limitError(inv, "all", " , ").message).toMatch(/names no host, group or pattern/);
    const d = tree({ "empty.txt": "\n\n" });
    expect(limitError(inv, "all", `@${d}/empty.txt`).message).toMatch(/names no host, group or pattern/);
  });

  it("valid patterns still work (brackets, regex, addresses)", async () => {
    const { inv } = await load(INV, ["i.ini"]);
    expect(inv.selectHosts("all", "~w[12]")).toEqual(["w1", "w2"]);
    expect(inv.selectHosts("web[0:1]:db")).toEqual(["w1", "w2", "d1"]);
    expect(inv.selectHosts("all", "!web")).toEqual(["d1"]);
    expect(inv.selectHosts("[wd]1")).toEqual(["w1", "d1"]);
  });
});
