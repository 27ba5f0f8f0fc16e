// Hostile and oversized inventories beside the real
// Ansible: where Ansible reads the same data, postfleet reads it the same way
// (aliases, deep chains it can still read); where Ansible widens a typo to
// every host, crashes, or merges distinct hosts, postfleet stops with a
// clear error (the differences README.md lists).
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ansible, ansibleListHosts, canonical, postfleet } from "./ansible.js";

let dir: string;

function chain(n: number): string {
  let text = "";
  for (let i = 0; i < n; i++) text += `[g${i}:children]\ng${i + 1}\n`;
  return `${text}[g${n}]\nh1\n`;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postfleet-hostile-"));
  writeFileSync(join(dir, "web.ini"), "[web]\nw1\nw2\n[db]\nd1\n");
  writeFileSync(join(dir, "empty-limit.txt"), "\n");
  writeFileSync(
    join(dir, "aliases.yml"),
    [
      "all:",
      "  vars:",
      "    common: &common {ntp: [pool1, pool2], relay: {host: r1, port: 25}}",
      "  children:",
      "    mta:",
      "      vars:",
      "        shared: *common",
      "        list: [*common, *common]",
      "      hosts:",
      "        mx1: &mx {<<: *common, role: mx}",
      "        mx2: *mx",
      "        mx3:",
      "          <<: [*mx, *common]",
      "          role: edge",
      "",
    ].join("\n"),
  );
  const bomb = ["all:", "  vars:", "    a0: &a0 [x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 10; i++) bomb.push(`    a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`);
  writeFileSync(join(dir, "bomb.yml"), [...bomb, "  hosts:", "    h1:", ""].join("\n"));
  writeFileSync(join(dir, "chain900.ini"), chain(900));
  writeFileSync(join(dir, "chain2000.ini"), chain(2000));
  writeFileSync(join(dir, "utf8.ini"), Buffer.from("[g]\nmx\xff1\nmx\xfe1\n", "latin1"));
  writeFileSync(join(dir, "range.ini"), "[g]\nh[0:99999999]\n");
});

describe("limits Ansible widens to every host are errors", () => {
  it.each([["~["], ["~"], [""], ["@empty-limit.txt"]])("--limit %j", async (limit) => {
    const a = await ansible("ansible", ["all", "--list-hosts", "-i", "web.ini", "--limit", limit], dir);
    // Ansible: every host.
    expect(a.stdout).toMatch(/hosts \(3\):/);
    const ours = await postfleet(["inventory", "-i", "web.ini", "--list-hosts", "all", "--limit", limit], dir);
    expect(ours.code).toBe(1);
    expect(ours.stdout).toBe("");
    expect(ours.stderr).toMatch(limit.startsWith("~") ? new RegExp(`invalid host pattern '${limit.replace(/[[~]/g, "\\$&")}'`) : /names no host, group or pattern/);
  });
});

describe("what Ansible reads, postfleet reads the same", () => {
  it("anchors, aliases and merge keys (shared values): the same --list", async () => {
    const a = await ansible("ansible-inventory", ["--list", "-i", "aliases.yml"], dir);
    const ours = await postfleet(["inventory", "--list", "-i", "aliases.yml"], dir);
    expect(a.code).toBe(0);
    expect(ours.code).toBe(0);
    expect(canonical(JSON.parse(ours.stdout))).toBe(canonical(JSON.parse(a.stdout)));
  });

  it("a 900-deep group chain: the same hosts and graph", async () => {
    const a = await ansibleListHosts([join(dir, "chain900.ini")], "g0");
    const ours = await postfleet(["inventory", "-i", "chain900.ini", "--list-hosts", "g0"], dir);
    expect(ours.stdout.trim().split("\n")).toEqual(a.hosts);
    const ag = await ansible("ansible-inventory", ["--graph", "-i", "chain900.ini"], dir);
    const og = await postfleet(["inventory", "--graph", "-i", "chain900.ini"], dir);
    expect(og.stdout.trim()).toBe(ag.stdout.trim());
  });
});

describe("what Ansible fails on, merges or would expand without end is a clear error", () => {
  it("a 2,000-deep chain: Ansible crashes (recursion), postfleet names the file and line", async () => {
    const a = await ansible("ansible-inventory", ["--list", "-i", "chain2000.ini"], dir);
    expect(a.code).not.toBe(0);
    expect(a.stderr).toMatch(/recursion/);
    const ours = await postfleet(["inventory", "--list", "-i", "chain2000.ini"], dir);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/chain2000\.ini:\d+: group g\d+ as a child of g\d+ nests groups more than 1,000 levels deep/);
  });

  it("invalid UTF-8 in host names: Ansible keeps two undecodable hosts, postfleet stops at the byte", async () => {
    const a = await ansibleListHosts([join(dir, "utf8.ini")], "all");
    expect(a.hosts).toHaveLength(2);
    const ours = await postfleet(["inventory", "--list", "-i", "utf8.ini"], dir);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/utf8\.ini:2:3: the file is not valid UTF-8 \(byte 0xff\)/);
  });

  it("an alias bomb: Ansible loads it (shared) until something walks it; postfleet stops at the alias", async () => {
    const a = await ansibleListHosts([join(dir, "bomb.yml")], "all");
    expect(a.hosts).toEqual(["h1"]);
    const ours = await postfleet(["inventory", "--list-hosts", "all", "-i", "bomb.yml"], dir);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/bomb\.yml:\d+: YAML aliases expand this document to more than 10,000,000 values/);
  });

  it("a range of 100 million hosts: postfleet stops at once (Ansible runs out of memory)", async () => {
    const t = Date.now();
    const ours = await postfleet(["inventory", "--list-hosts", "all", "-i", "range.ini"], dir);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/range\.ini:2: host range in 'h\[0:99999999\]' makes 100,000,000 host names/);
    expect(Date.now() - t).toBeLessThan(30_000); // tsx start-up included
  });
});
