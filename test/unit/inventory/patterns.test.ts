import { describe, expect, it } from "vitest";
import { fnmatchToRegExp, splitHostPattern, orderPatterns } from "../../../src/inventory/patterns.js";
import { load } from "../../support/inventory-files.js";

const INI = `[web]\nwww1\nwww2\nwww3\ndb1\n[db]\ndb1\ndb2\n[mail]\nmx1\nwww3\n[canary]\nwww2\nmx1\n[prod:children]\nweb\ndb\nmail\n`;

describe("pattern syntax", () => {
  it("splits on commas, else on colons outside brackets, keeping addresses whole", () => {
    expect(splitHostPattern("a, b[1],c[2:3] , d")).toEqual(["a", "b[1]", "c[2:3]", "d"]);
    expect(splitHostPattern("web:&eu:!canary")).toEqual(["web", "&eu", "!canary"]);
    expect(splitHostPattern("g[1:3]")).toEqual(["g[1:3]"]);
    expect(splitHostPattern("host:22")).toEqual(["host:22"]);
  });
  it("orders regular, then &, then !; only ! or & means all first", () => {
    expect(orderPatterns(["!a", "&b", "c"])).toEqual(["c", "&b", "!a"]);
    expect(orderPatterns(["!a"])).toEqual(["all", "!a"]);
  });
  it("globs as fnmatch: * crosses dots, [!x] negates, case matters", () => {
    expect(fnmatchToRegExp("*.example.com").test("a.b.example.com")).toBe(true);
    expect(fnmatchToRegExp("mx[!2]").test("mx1")).toBe(true);
    expect(fnmatchToRegExp("mx[!2]").test("mx2")).toBe(false);
    expect(fnmatchToRegExp("MX*").test("mx1")).toBe(false);
    expect(fnmatchToRegExp("a[").test("a[")).toBe(true);
  });
});

describe("host selection", () => {
  it.each([
    // canary is a top-level group (level 1), prod's children come one level deeper.
    ["all", ["www2", "mx1", "www1", "www3", "db1", "db2"]],
    ["web:db", ["www1", "www2", "www3", "db1", "db2"]],
    ["db:web", ["db1", "db2", "www1", "www2", "www3"]],
    ["web:&mail", ["www3"]],
    ["prod:!canary", ["www1", "www3", "db1", "db2"]],
    ["!canary", ["www1", "www3", "db1", "db2"]],
    ["www*", ["www1", "www2", "www3"]],
    ["~(www|db)1", ["www1", "db1"]],
    ["web[0]", ["www1"]],
    ["web[-1]", ["db1"]],
    ["web[1:2]", ["www2", "www3"]],
    ["web[2:]", ["www3", "db1"]],
    ["mx1,www1", ["mx1", "www1"]],
  ])("%s", async (pattern, hosts) => {
    const { inv } = await load({ "i.ini": INI }, ["i.ini"]);
    expect(inv.selectHosts(pattern)).toEqual(hosts);
  });

  it("--limit, also from an @file", async () => {
    const { inv } = await load({ "i.ini": INI, "lim.txt": "db2\nwww1\n" }, ["i.ini"]);
    expect(inv.selectHosts("prod", "canary")).toEqual(["www2", "mx1"]);
    expect(inv.selectHosts("prod", "@lim.txt")).toEqual(["www1", "db2"]);
  });

  it("an unmatched term is a warning, not an error", async () => {
    const { inv, warnings } = await load({ "i.ini": INI }, ["i.ini"]);
    expect(inv.selectHosts("web:nosuch")).toEqual(["www1", "www2", "www3", "db1"]);
    expect(warnings).toEqual(["Could not match supplied host pattern, ignoring: nosuch"]);
  });

  it("a subscript beyond the hosts is an error", async () => {
    const { inv } = await load({ "i.ini": INI }, ["i.ini"]);
    expect(() => inv.selectHosts("db[5]")).toThrow(/No hosts matched the subscripted pattern 'db\[5\]'/);
  });
});
