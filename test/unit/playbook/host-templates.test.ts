import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExtraVarsError, parseExtraVars, parseExtraVarsArg } from "../../../src/playbook/index.js";
import { evaluateWhen, hostScope } from "../../../src/playbook/host-templates.js";
import { fleetIni, load } from "../../support/playbook-files.js";

describe("-e/--extra-vars", () => {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-ev-"));
  writeFileSync(join(dir, "vars.yml"), "drain: yes\nhub: '[hub.example.net]'\nlist: [1, 2]\n");
  writeFileSync(join(dir, "vars.json"), '{"drain": false, "port": 2525}');
  writeFileSync(join(dir, "list.yml"), "- a\n- b\n");
  writeFileSync(join(dir, "bad.yml"), "a: [\n");

  it("KEY=VALUE pairs, several in one argument, values are strings, quotes group", () => {
    expect(parseExtraVarsArg("a=1 b=two  c='x y' d=\"p=q\" e=")).toEqual({ a: "1", b: "two", c: "x y", d: "p=q", e: "" });
    expect(parseExtraVarsArg("path=a\\ b")).toEqual({ path: "a b" });
  });

  it("@FILE (YAML 1.1 as Ansible reads it, or JSON) and inline JSON/YAML", () => {
    expect(parseExtraVarsArg("@vars.yml", dir)).toEqual({ drain: true, hub: "[hub.example.net]", list: [1, 2] });
    expect(parseExtraVarsArg(`@${join(dir, "vars.json")}`)).toEqual({ drain: false, port: 2525 });
    expect(parseExtraVarsArg('{"json": 1, "nested": {"a": [true]}}')).toEqual({ json: 1, nested: { a: [true] } });
    expect(parseExtraVarsArg("{yaml: flow, count: 3, on: off}")).toEqual({ yaml: "flow", count: 3, true: false });
  });

  it("later arguments win, key by key", () => {
    expect(parseExtraVars(["@vars.yml", "drain=no", '{"port": 1}', "port=2"], dir)).toEqual({ drain: "no", hub: "[hub.example.net]", list: [1, 2], port: "2" });
  });

  it("errors say what is wrong", () => {
    const err = (a: string) => {
      try {
        parseExtraVarsArg(a, dir);
      } catch (e) {
        expect(e).toBeInstanceOf(ExtraVarsError);
        return (e as Error).message;
      }
      throw new Error("expected an error");
    };
    expect(err("drain")).toBe("-e drain: 'drain' is not KEY=VALUE (use -e KEY=VALUE, -e @FILE or -e '{\"key\": \"value\"}')");
    expect(err("a=1 'b=2")).toBe("-e a=1 'b=2: unbalanced ' quote");
    expect(err("@missing.yml")).toBe(`-e @missing.yml: cannot read ${join(dir, "missing.yml")}: ENOENT`);
    expect(err("@list.yml")).toBe("-e @list.yml: extra vars must be a mapping of names to values, not a list");
    expect(err("@bad.yml")).toMatch(/^bad\.yml:2:1: YAML: /);
    expect(err("./vars.yml")).toBe("-e ./vars.yml: to read variables from a file, write -e @./vars.yml");
    expect(err("[1]")).toBe("-e [1]: extra vars must be a mapping of names to values, not a list");
  });
});

describe("variables of a step, per host: inventory < play vars < extra vars", () => {
  const ini = fleetIni(4, "[mta:vars]\nhub=[inventory]\nport=25\n[fra:vars]\nsite=fra\n");
  const text = [
    "- hosts: all",
    "  vars:",
    "    port: 2525",
    "    relay: '{{ hub }}'",
    "  steps:",
    "    - name: Relay for {{ inventory_hostname_short }} at {{ site | default }}",
    "      when: '{{ site == 1 }}'",
    "      postconf: {main_cf: {relayhost: x}}",
  ].join("\n");

  it("the play's vars override the inventory's, -e overrides both; magic variables per host", async () => {
    const pb = await load(
      "- hosts: all\n  vars:\n    port: 2525\n    relay: '{{ hub }}:{{ port }}'\n  steps:\n    - name: '{{ inventory_hostname }} in {{ group_names }}'\n      postconf:\n        main_cf: {relayhost: '{{ relay }}', smtp_port: '{{ port }}'}\n",
      { ini, extraVars: { hub: "[extra]" } },
    );
    const s = pb.plays[0]!.steps;
    expect(s["mta01"]![0]).toMatchObject({ name: "mta01 in ['fra', 'mta']", config: { main: { relayhost: "[extra]:2525", smtp_port: "2525" } } });
    expect(s["mta02"]![0]).toMatchObject({ name: "mta02 in ['mta']" });
    const noExtra = await load("- hosts: all\n  steps:\n    - postconf: {main_cf: {relayhost: '{{ hub }}', p: '{{ port }}'}}\n", { ini });
    expect(noExtra.plays[0]!.steps["mta03"]![0]).toMatchObject({ config: { main: { relayhost: "[inventory]", p: "25" } } });
  });

  it("hosts may use play vars and extra vars", async () => {
    const t = "- hosts: '{{ target }}'\n  vars: {target: mta}\n  steps: [{restart: }]\n";
    expect((await load(t, { ini })).plays[0]!.hosts).toEqual(["mta01", "mta02", "mta03", "mta04"]);
    expect((await load(t, { ini, extraVars: { target: "fra" } })).plays[0]!.hosts).toEqual(["mta01", "mta03"]);
    expect((await load(t, { ini, limit: "mta02:mta03" })).plays[0]!.hosts).toEqual(["mta02", "mta03"]);
  });

  it("a play whose pattern and limit leave no host: a warning, no batches", async () => {
    const pb = await load("- name: canaries\n  hosts: mta\n  steps: [{restart: }]\n", { ini, limit: "nosuch*" });
    expect(pb.plays[0]).toMatchObject({ hosts: [], batches: [], steps: {} });
    expect(pb.warnings).toEqual(["pb.yml:1:3: play 'canaries': no hosts matched 'mta' with --limit 'nosuch*', skipping it"]);
  });

  it("filters are not evaluated: an error at the template", async () => {
    await expect(load(text, { ini })).rejects.toThrow(
      [
        "pb.yml:6:13: hosts mta01, mta02 and 2 more: uses '{{ site | default }}', which is not a simple variable reference (filters, tests, operators and lookups are not evaluated by postfleet): use a plain value or {{ variable }}",
        "pb.yml:7:13: hosts mta01, mta02 and 2 more: when: '{{ site == 1 }}' is not a condition postfleet evaluates: use true/false, a variable (drain), not drain, drain | bool, or a {{ template }}",
      ].join("\n"),
    );
  });
});

describe("when", () => {
  const scope = hostScope({ on: true, off: "no", yes_text: "Yes", n: 0, s: "maybe", nested: { flag: "true" } });
  const result = (w: string | boolean) => evaluateWhen(w, scope).result;
  it("booleans, variable names, not, | bool, and {{ }} forms", () => {
    expect(result(true)).toBe(true);
    expect(result(false)).toBe(false);
    expect(result("on")).toBe(true);
    expect(result("off")).toBe(false);
    expect(result("not off")).toBe(true);
    expect(result("off | bool")).toBe(false);
    expect(result("not (off | bool)")).toBe(true);
    expect(result("{{ yes_text }}")).toBe(true);
    expect(result("{{ not on }}")).toBe(false);
    expect(result("n")).toBe(false);
    expect(result("nested.flag")).toBe(true);
    expect(result("true")).toBe(true);
    expect(result("{{ on }}-{{ on }}".replace("-{{ on }}", ""))).toBe(true);
  });
  it("the string 'false' is false (unlike a bare Ansible when), anything unclear is an error", () => {
    expect(evaluateWhen("off", scope)).toEqual({ expression: "off", rendered: "no", result: false });
    expect(() => result("s")).toThrow("is 'maybe', which is neither true nor false (true/false, yes/no, on/off, 1/0)");
    expect(() => result("on and off")).toThrow("is not a condition postfleet evaluates");
    expect(() => result("missing")).toThrow("'missing' is undefined");
  });
  it("a false when keeps the step, marked, so the run can report it skipped", async () => {
    const pb = await load("- hosts: all\n  vars: {drain: false}\n  steps:\n    - when: drain\n      drain:\n    - restart:\n", { extraVars: {} });
    const steps = pb.plays[0]!.steps["mta01"]!;
    expect(steps.map((s) => [s.index, s.type, s.when?.result])).toEqual([
      [0, "drain", false],
      [1, "restart", undefined],
    ]);
    const on = await load("- hosts: all\n  vars: {drain: false}\n  steps:\n    - when: drain\n      drain:\n", { extraVars: { drain: "true" } });
    expect(on.plays[0]!.steps["mta01"]![0]!.when).toEqual({ expression: "drain", rendered: "true", result: true });
  });
});
