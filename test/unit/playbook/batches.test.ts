import { describe, expect, it } from "vitest";
import { batchBudgetExceeded, budgetReached, countOf, failureBudget, makeBatches, orderHosts, perBatchTolerance } from "../../../src/playbook/index.js";
import { load } from "../../support/playbook-files.js";

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${String(i + 1).padStart(3, "0")}`);
const sizes = (n: number, serial: Parameters<typeof makeBatches>[1]) => makeBatches(hosts(n), serial).map((b) => b.length);

// Expected sizes follow Ansible's _get_serialized_batches with pct_to_int:
// int((N / 100.0) * all_hosts) or 1, each list entry in turn, the last repeating.
describe("serial → batches (Ansible's numbers)", () => {
  it.each([
    [10, undefined, [10]],
    [10, 4, [4, 4, 2]],
    [10, [2, 5], [2, 5, 3]],
    [10, [1, "10%", "25%"], [1, 1, 2, 2, 2, 2]],
    [12, [1, "10%", "25%"], [1, 1, 3, 3, 3, 1]],
    [40, [1, "10%", "25%"], [1, 4, 10, 10, 10, 5]],
    [5, "50%", [2, 2, 1]],
    [3, "10%", [1, 1, 1]],
    [7, "0%", [1, 1, 1, 1, 1, 1, 1]],
    [4, "100%", [4]],
    [9, "33%", [2, 2, 2, 2, 1]],
    // Floating point, as Ansible computes it: 0.29 * 100 = 28.999999999999996 → 28.
    [100, "29%", [28, 28, 28, 16]],
    [100, "57%", [56, 44]],
    [2, [5, 1], [2]],
  ] as const)("%i hosts, serial %j", (n, serial, expected) => {
    expect(sizes(n, serial as Parameters<typeof makeBatches>[1])).toEqual(expected);
  });

  it("keeps the order and every host exactly once", () => {
    const b = makeBatches(hosts(10), [1, "10%", "25%"]);
    expect(b.flat()).toEqual(hosts(10));
    expect(b[0]).toEqual(["h001"]);
    expect(b[2]).toEqual(["h003", "h004"]);
  });

  it("no hosts, no batches", () => {
    expect(makeBatches([], 3)).toEqual([]);
  });

  it("countOf: percentages of the total rounded down, at least 1", () => {
    expect(countOf("10%", 9)).toBe(1);
    expect(countOf("10%", 19)).toBe(1);
    expect(countOf("10%", 20)).toBe(2);
    expect(countOf(" 25 %", 10)).toBe(2);
    expect(countOf(3, 100)).toBe(3);
  });
});

describe("host order", () => {
  const inv = ["mx2", "mx10", "mx1", "Mx3", "mx20"];
  it("inventory, reverse_inventory, sorted (code points, like Python), reverse_sorted", () => {
    expect(orderHosts(inv, "inventory")).toEqual(inv);
    expect(orderHosts(inv, "reverse_inventory")).toEqual(["mx20", "Mx3", "mx1", "mx10", "mx2"]);
    expect(orderHosts(inv, "sorted")).toEqual(["Mx3", "mx1", "mx10", "mx2", "mx20"]);
    expect(orderHosts(inv, "reverse_sorted")).toEqual(["mx20", "mx2", "mx10", "mx1", "Mx3"]);
    expect(inv).toEqual(["mx2", "mx10", "mx1", "Mx3", "mx20"]);
  });

  it("shuffle: a permutation, the same for the same seed, another for another seed", () => {
    const all = hosts(30);
    const a = orderHosts(all, "shuffle", 42);
    expect([...a].sort()).toEqual(all);
    expect(a).not.toEqual(all);
    expect(orderHosts(all, "shuffle", 42)).toEqual(a);
    expect(orderHosts(all, "shuffle", 43)).not.toEqual(a);
    // Pinned: the same seed gives this order on every machine and Node version.
    expect(orderHosts(hosts(6), "shuffle", 7)).toEqual(["h005", "h002", "h003", "h004", "h006", "h001"]);
  });

  it("order in a play: seeded shuffle is repeatable, an unseeded one records its seed", async () => {
    const text = (order: string) => `- hosts: all\n  order: ${order}\n  serial: 3\n  steps: [{restart: }]\n`;
    const a = await load(text("{shuffle: {seed: 9}}"));
    const b = await load(text("{shuffle: {seed: 9}}"));
    expect(a.plays[0]!.batches).toEqual(b.plays[0]!.batches);
    expect(a.plays[0]!.orderSeed).toBe(9);
    expect(a.plays[0]!.hosts).toEqual(hosts(10).map((h) => h.replace("h0", "mta")));
    expect(a.plays[0]!.batches.flat()).toEqual(orderHosts(a.plays[0]!.hosts, "shuffle", 9));
    const c = await load(text("shuffle"));
    expect(typeof c.plays[0]!.orderSeed).toBe("number");
    expect(c.plays[0]!.batches.flat()).toEqual(orderHosts(c.plays[0]!.hosts, "shuffle", c.plays[0]!.orderSeed));
    const d = await load(text("reverse_sorted"));
    expect(d.plays[0]!.batches).toEqual([
      ["mta10", "mta09", "mta08"],
      ["mta07", "mta06", "mta05"],
      ["mta04", "mta03", "mta02"],
      ["mta01"],
    ]);
  });
});

describe("failure budgets", () => {
  it("max_fail is reached, not exceeded: max_fail 1 stops at the first failure", () => {
    const play = { maxFail: failureBudget(1, 10) };
    expect(budgetReached(play, 0)).toBe(false);
    expect(budgetReached(play, 1)).toBe(true);
    const three = { maxFail: failureBudget(3, 10) };
    expect(budgetReached(three, 2)).toBe(false);
    expect(budgetReached(three, 3)).toBe(true);
    expect(budgetReached({ maxFail: null }, 1000)).toBe(false);
  });

  it("max_fail as a percentage of the play's hosts: rounded down, at least 1", () => {
    expect(failureBudget("5%", 100)).toBe(5);
    expect(failureBudget("5%", 40)).toBe(2);
    expect(failureBudget("5%", 10)).toBe(1);
    expect(failureBudget("0%", 10)).toBe(1);
    expect(failureBudget("50%", 7)).toBe(3);
    expect(failureBudget(undefined, 7)).toBeNull();
  });

  it("max_fail_per_batch: Ansible's max_fail_percentage, failed / batch_size must EXCEED it", () => {
    const batches = [["a"], ["b", "c", "d", "e"], ["f", "g", "h", "i", "j", "k", "l", "m", "n", "o"]];
    // 25%: 1 of 1 exceeds; 1 of 4 does not (0.25 > 0.25 is false), 2 of 4 does; 2 of 10 does not, 3 of 10 does.
    const play = { maxFailPerBatch: perBatchTolerance("25%", batches) };
    expect(play.maxFailPerBatch).toEqual([0, 1, 2]);
    expect(batchBudgetExceeded(play, 0, 1)).toBe(true);
    expect(batchBudgetExceeded(play, 1, 1)).toBe(false);
    expect(batchBudgetExceeded(play, 1, 2)).toBe(true);
    expect(batchBudgetExceeded(play, 2, 2)).toBe(false);
    expect(batchBudgetExceeded(play, 2, 3)).toBe(true);
    // 100% never stops the play, even when a whole batch fails (Ansible does stop then: #76915).
    expect(perBatchTolerance("100%", batches)).toEqual([1, 4, 10]);
    expect(perBatchTolerance("0%", batches)).toEqual([0, 0, 0]);
    // A count is the number of failures a batch tolerates.
    expect(perBatchTolerance(2, batches)).toEqual([2, 2, 2]);
    expect(batchBudgetExceeded({}, 0, 99)).toBe(false);
  });

  it("a play carries both, as absolute numbers aligned with its batches", async () => {
    const pb = await load('- hosts: all\n  serial: [1, "50%"]\n  max_fail: "20%"\n  max_fail_per_batch: "40%"\n  pause_between_batches: 1m30s\n  steps: [{restart: }]\n');
    const p = pb.plays[0]!;
    expect(p.batches.map((b) => b.length)).toEqual([1, 5, 4]);
    expect(p.maxFail).toBe(2);
    expect(p.maxFailPerBatch).toEqual([0, 2, 1]);
    expect(p.pauseBetweenBatchesMs).toBe(90_000);
    const none = await load("- hosts: all\n  steps: [{restart: }]\n");
    expect(none.plays[0]!.maxFail).toBeNull();
    expect(none.plays[0]!.maxFailPerBatch).toBeUndefined();
    expect(none.plays[0]!.pauseBetweenBatchesMs).toBe(0);
  });
});
