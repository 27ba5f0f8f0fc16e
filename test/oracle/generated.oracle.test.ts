// Generated inventories (fixed seeds) against Ansible's own InventoryManager
// and ansible-inventory: 1000 random patterns and 40 random variable layouts.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadInventory } from "../../src/inventory/index.js";
import { ANSIBLE_ENV, ansibleOrderIsDeterministic, canonical } from "./ansible.js";

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

// The Python that runs Ansible (its shebang), with Ansible's own library.
const ansiblePython = readFileSync(execFileSync("sh", ["-c", "command -v ansible"]).toString().trim(), "utf8").split("\n")[0]!.replace(/^#!\s*/, "").split(" ")[0]!;
const root = mkdtempSync(join(tmpdir(), "postfleet-gen-"));

describe("generated inventories", () => {
  it("1000 random patterns select the same hosts in the same order", async () => {
    const rnd = rng(20261122);
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
    const cases: { sources: string[]; patterns: [string, string | null][] }[] = [];
    for (let n = 0; n < 40; n++) {
      const groups = Array.from({ length: 2 + Math.floor(rnd() * 6) }, (_, i) => `g${i}${pick(["", "x", "_web", "db"])}`);
      const hosts = Array.from({ length: 3 + Math.floor(rnd() * 10) }, (_, i) => `${pick(["mx", "web", "db", "h"])}${i}${pick(["", ".example.com", ".fra.net"])}`);
      let ini = "";
      for (const h of hosts.slice(0, 2)) if (rnd() < 0.5) ini += `${h}\n`;
      for (const g of groups) {
        ini += `[${g}]\n`;
        for (const h of hosts) if (rnd() < 0.35) ini += `${h}\n`;
        if (rnd() < 0.3) ini += `r${g}[1:${1 + Math.floor(rnd() * 3)}]\n`;
      }
      for (let i = 0; i < groups.length; i++) {
        const kids = groups.slice(i + 1).filter(() => rnd() < 0.3);
        if (kids.length) ini += `[${groups[i]}:children]\n${kids.join("\n")}\n`;
      }
      const file = join(root, `p${n}.ini`);
      writeFileSync(file, ini);
      const terms = [...groups, ...hosts, "all", "*", "ungrouped", "*.example.com", "mx*", "~(web|db)", "g*", "nosuch", "h?"];
      const patterns: [string, string | null][] = [];
      for (let k = 0; k < 25; k++) {
        const parts: string[] = [];
        for (let j = 0, m = 1 + Math.floor(rnd() * 3); j < m; j++) {
          let t = pick(terms);
          if (rnd() < 0.25 && !t.startsWith("~")) t += pick(["[0]", "[-1]", "[1:2]", "[1:]", "[0:0]"]);
          parts.push((j > 0 ? pick(["", "", "&", "!"]) : "") + t);
        }
        patterns.push([parts.join(pick([":", ","])), rnd() < 0.2 ? pick(groups) : null]);
      }
      cases.push({ sources: [file], patterns });
    }
    const theirs = JSON.parse(
      execFileSync(ansiblePython, [join(import.meta.dirname, "ansible_patterns.py")], { input: JSON.stringify(cases), env: ANSIBLE_ENV, maxBuffer: 1e9, stdio: ["pipe", "pipe", "ignore"] }).toString(),
    ) as (string[] | string)[][];
    let compared = 0;
    for (const [n, c] of cases.entries()) {
      const inv = await loadInventory({ sources: c.sources, ansibleConfig: null, warn: () => {} });
      const exact = [...inv.data.groups.values()].every(ansibleOrderIsDeterministic);
      for (const [k, [p, limit]] of c.patterns.entries()) {
        const a = theirs[n]![k]!;
        let ours: string[] | string;
        try {
          ours = inv.selectHosts(p, limit ?? undefined);
        } catch (e) {
          ours = `ERROR ${(e as Error).message}`;
        }
        if (typeof a === "string") {
          expect(typeof ours, `${c.sources[0]} ${p}`).toBe("string");
          continue;
        }
        if (exact) expect(ours, `${c.sources[0]} ${p} limit ${limit}`).toEqual(a);
        else if (!/\[/.test(p)) expect([...(ours as string[])].sort(), `${c.sources[0]} ${p} limit ${limit}`).toEqual([...a].sort());
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(900);
  });

  it("40 random variable layouts (priorities, nesting, group_vars, host_vars) merge the same", async () => {
    const rnd = rng(4242);
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
    for (let n = 0; n < 40; n++) {
      const dir = join(root, `v${n}`);
      mkdirSync(join(dir, "group_vars"), { recursive: true });
      mkdirSync(join(dir, "host_vars"), { recursive: true });
      const groups = Array.from({ length: 2 + Math.floor(rnd() * 5) }, (_, i) => `grp${i}`);
      const hosts = Array.from({ length: 2 + Math.floor(rnd() * 5) }, (_, i) => `host${i}`);
      const val = () => pick(["1", "'s'", "yes", "[1, 2]", "{a: 1}", "2.5", "null", "'{{ x }}'"]);
      const keys = ["k1", "k2", "k3", "k4"];
      let y = "all:\n  vars:\n";
      for (const k of keys) if (rnd() < 0.5) y += `    ${k}: ${val()}\n`;
      y += "    _all: 1\n  children:\n";
      for (let i = 0; i < groups.length; i++) {
        y += `    ${groups[i]}:\n      vars:\n        _g: ${i}\n`;
        for (const k of keys) if (rnd() < 0.4) y += `        ${k}: ${val()}\n`;
        if (rnd() < 0.4) y += `        ansible_group_priority: ${Math.floor(rnd() * 4)}\n`;
        const hs = hosts.filter(() => rnd() < 0.4);
        if (hs.length) {
          y += "      hosts:\n";
          for (const h of hs) y += `        ${h}:${rnd() < 0.3 ? " {k1: hostinline}" : ""}\n`;
        }
        const kids = groups.slice(i + 1).filter(() => rnd() < 0.3);
        if (kids.length) y += `      children:\n${kids.map((k) => `        ${k}:\n`).join("")}`;
        if (rnd() < 0.4) writeFileSync(join(dir, "group_vars", `${groups[i]}.yml`), keys.filter(() => rnd() < 0.5).map((k) => `${k}: gv-${groups[i]}\n`).join("") || "{}\n");
      }
      for (const h of hosts) if (rnd() < 0.3) writeFileSync(join(dir, "host_vars", h), `k2: hv-${h}\n`);
      if (rnd() < 0.5) writeFileSync(join(dir, "group_vars", "all.yml"), "k3: gv-all\n");
      writeFileSync(join(dir, "inv.yml"), y);
      const a = JSON.parse(execFileSync("ansible-inventory", ["--list", "-i", join(dir, "inv.yml")], { env: ANSIBLE_ENV, stdio: ["ignore", "pipe", "ignore"] }).toString()) as unknown;
      const inv = await loadInventory({ sources: [join(dir, "inv.yml")], ansibleConfig: null, warn: () => {} });
      expect(canonical(inv.list()), dir).toBe(canonical(a));
    }
  });
});
