// Differential tests of batches: the real ansible-playbook (2.14, local
// connection, one run_once debug task printing ansible_play_batch) against
// postfleet's playbook loader for the same hosts, serial and order; and
// max_fail_percentage against max_fail_per_batch with failures injected on
// chosen hosts (a `fail` task).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../src/inventory/index.js";
import { batchBudgetExceeded, loadPlaybook } from "../../src/playbook/index.js";
import { ANSIBLE_ENV, run } from "./ansible.js";

const dir = mkdtempSync(join(tmpdir(), "postfleet-batches-"));
// 100 hosts, not in name order, so that sorted and inventory orders differ.
const NAMES = Array.from({ length: 100 }, (_, i) => `h${String(((i * 37) % 100) + 1).padStart(3, "0")}`);
writeFileSync(join(dir, "hosts.ini"), NAMES.map((h) => `${h} ansible_connection=local`).join("\n") + "\n");

type Serial = number | string | (number | string)[];
interface Case {
  hosts: string;
  serial?: Serial;
  order?: string;
}

const CASES: Case[] = [
  { hosts: "all[0:9]", serial: [1, "10%", "25%"] },
  { hosts: "all[0:11]", serial: [1, "10%", "25%"] },
  { hosts: "all[0:39]", serial: [1, "10%", "25%"], order: "sorted" },
  { hosts: "all", serial: "29%" },
  { hosts: "all", serial: "57%", order: "reverse_sorted" },
  { hosts: "all[0:8]", serial: "33%", order: "reverse_inventory" },
  { hosts: "all[0:2]", serial: "10%" },
  { hosts: "all[0:6]", serial: "0%" },
  { hosts: "all[0:9]", serial: [2, 5] },
  { hosts: "all[0:1]", serial: [5, 1] },
  { hosts: "all[0:9]", serial: 4, order: "sorted" },
  { hosts: "all[0:4]" },
];

function parseBatches(stdout: string, tag: string): string[][] {
  const re = new RegExp(`"msg": "${tag} BATCH ([^"]*)"`, "g");
  return [...stdout.matchAll(re)].map((m) => m[1]!.split(","));
}

async function ansiblePlaybook(yaml: string, extra: string[] = []) {
  const file = join(dir, `pb-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, yaml);
  return run("ansible-playbook", ["-i", "hosts.ini", file, ...extra], { cwd: dir, env: ANSIBLE_ENV });
}

async function postfleetPlay(play: string, extraVars: Record<string, unknown> = {}) {
  const inventory = await loadInventory({ sources: [join(dir, "hosts.ini")], cwd: dir, ansibleConfig: null, warn: () => {} });
  return (await loadPlaybook("pb.yml", { inventory, interactive: false, extraVars, text: play })).plays[0]!;
}

const yamlOf = (v: unknown) => JSON.stringify(v);

describe("serial and order: ansible-playbook's batches", () => {
  it("one playbook of many plays, each compared with postfleet's", async () => {
    const plays = CASES.map(
      (c, i) =>
        `- hosts: "${c.hosts}"\n  gather_facts: false\n${c.serial !== undefined ? `  serial: ${yamlOf(c.serial)}\n` : ""}${c.order ? `  order: ${c.order}\n` : ""}  tasks:\n    - debug: {msg: "C${i} BATCH {{ ansible_play_batch | join(',') }}"}\n      run_once: true\n`,
    );
    const r = await ansiblePlaybook(plays.join(""));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const [i, c] of CASES.entries()) {
      const ours = await postfleetPlay(`- hosts: "${c.hosts}"\n${c.serial !== undefined ? `  serial: ${yamlOf(c.serial)}\n` : ""}${c.order ? `  order: ${c.order}\n` : ""}  steps: [{restart: }]\n`);
      expect(ours.batches, JSON.stringify(c)).toEqual(parseBatches(r.stdout, `C${i}`));
    }
  });
});

describe("max_fail_per_batch: Ansible's max_fail_percentage (must exceed, per batch)", () => {
  // [serial, percentage, failing hosts (positions in the inventory), batches that run]
  const FAILS: [Serial, number, number[], number][] = [
    [[2, 4], 25, [2], 3], // 1 of 4 is not more than 25%: every batch runs
    [4, 30, [0, 4], 3], // 1 of 4 in two batches: per batch, not added up
    [4, 20, [5], 2], // 1 of 4 > 20%: stops after the second batch
    [[1, "30%"], 50, [1, 2], 2], // 2 of 3 > 50%: stops after the second batch
    [5, 0, [2], 1], // any failure exceeds 0%
  ];

  it.each(FAILS)("serial %j, max %i percent, failing %j: %i batches run", async (serial, pct, failingAt, expected) => {
    const hosts = NAMES.slice(0, 10);
    const failing = failingAt.map((i) => hosts[i]!);
    const yaml = `- hosts: "all[0:9]"\n  gather_facts: false\n  serial: ${yamlOf(serial)}\n  max_fail_percentage: ${pct}\n  tasks:\n    - debug: {msg: "F BATCH {{ ansible_play_batch | join(',') }}"}\n      run_once: true\n    - fail: {msg: injected}\n      when: inventory_hostname in failing\n`;
    const r = await ansiblePlaybook(yaml, ["-e", JSON.stringify({ failing })]);
    const ansibleRan = parseBatches(r.stdout, "F");

    const play = await postfleetPlay(`- hosts: "all[0:9]"\n  serial: ${yamlOf(serial)}\n  max_fail_per_batch: "${pct}%"\n  steps: [{restart: }]\n`);
    const ran: string[][] = [];
    for (const [i, batch] of play.batches.entries()) {
      ran.push(batch);
      if (batchBudgetExceeded(play, i, batch.filter((h) => failing.includes(h)).length)) break;
    }
    expect(ran).toEqual(ansibleRan);
    expect(ran).toHaveLength(expected);
  });

  it("where postfleet differs on purpose: a batch that fails entirely ends Ansible's play even at 100%, not postfleet's", async () => {
    const hosts = NAMES.slice(0, 10);
    const yaml = `- hosts: "all[0:9]"\n  gather_facts: false\n  serial: [1, 3]\n  max_fail_percentage: 100\n  tasks:\n    - debug: {msg: "W BATCH {{ ansible_play_batch | join(',') }}"}\n      run_once: true\n    - fail: {msg: injected}\n      when: inventory_hostname == "${hosts[0]}"\n`;
    const r = await ansiblePlaybook(yaml);
    expect(parseBatches(r.stdout, "W")).toEqual([[hosts[0]]]);
    const play = await postfleetPlay(`- hosts: "all[0:9]"\n  serial: [1, 3]\n  max_fail_per_batch: "100%"\n  steps: [{restart: }]\n`);
    expect(batchBudgetExceeded(play, 0, 1)).toBe(false);
  });
});
