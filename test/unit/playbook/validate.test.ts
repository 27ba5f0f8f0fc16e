import { describe, expect, it } from "vitest";
import { PlaybookError } from "../../../src/playbook/index.js";
import { fleetIni, load, problems } from "../../support/playbook-files.js";

// Each case: the exact FILE:LINE:COLUMN and message, nothing else reported.
describe("malformed playbooks are rejected at file:line:column", () => {
  it("bad YAML", async () => {
    expect(await problems("- hosts: all\n  steps: [\n    - restart:\n")).toEqual([
      "pb.yml:3:5: YAML: Block collections are not allowed within flow collections",
      "pb.yml:3:15: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
    expect(await problems("- hosts: all\n  hosts: mta\n  steps: [{restart: }]\n")).toEqual(["pb.yml:2:3: YAML: Map keys must be unique"]);
    expect((await problems("- hosts: all\n\tsteps: []\n"))[0]).toBe("pb.yml:2:2: YAML: Unexpected scalar at node end");
  });

  it("an empty file, a mapping, a second document", async () => {
    expect(await problems("# nothing\n")).toEqual(["pb.yml:1:1: the playbook is empty: it must be a YAML list of plays"]);
    expect(await problems("hosts: all\nsteps: []\n")).toEqual(["pb.yml:1:1: a playbook is a YAML list of plays (each starting with '- hosts: ...'), not a mapping"]);
    expect(await problems("- hosts: all\n  steps: [{restart: }]\n---\n- hosts: all\n")).toEqual([
      "pb.yml:3:1: a playbook is one YAML document (a list of plays); remove the '---' that starts a second one",
    ]);
  });

  it("an unknown step type, with a suggestion", async () => {
    expect(await problems("- hosts: all\n  steps:\n    - name: x\n      restrat:\n")).toEqual(["pb.yml:4:7: unknown step type 'restrat' (did you mean 'restart'?)"]);
    expect(await problems("- hosts: all\n  steps:\n    - name: only a name\n")).toEqual([
      "pb.yml:3:7: a step needs a type key, one of: instances, postconf, start, stop, restart, reload, wait, drain, undrain, postmulti, run, pause",
    ]);
    expect(await problems("- hosts: all\n  steps:\n    - frobnicate: 1\n")).toEqual([
      "pb.yml:3:7: unknown step type 'frobnicate' (a step's type is one of: instances, postconf, start, stop, restart, reload, wait, drain, undrain, postmulti, run, pause)",
    ]);
  });

  it("unknown keys, in plays, steps and nested mappings, at the key", async () => {
    const text = [
      "- hosts: all",
      "  max_fail_percentage: 10",
      "  seriel: 2",
      "  steps:",
      "    - restart:",
      "        healthy_timout: 10s",
      "      instancse: enabled",
      "    - postconf:",
      "        main_cf: {relayhost: x}",
      "      then: reload",
      "      tags: [x]",
      "    - restart:",
      "      then: restart",
    ].join("\n");
    expect(await problems(text)).toEqual([
      "pb.yml:2:3: unknown key 'max_fail_percentage' in a play: use max_fail (fleet-wide budget, stops when reached) or max_fail_per_batch (Ansible's per-batch, must-exceed semantics)",
      "pb.yml:3:3: unknown key 'seriel' in a play (did you mean 'serial'?)",
      "pb.yml:6:9: unknown key 'healthy_timout' in 'restart' (did you mean 'healthy_timeout'?)",
      "pb.yml:7:7: unknown key 'instancse' in a 'restart' step (did you mean 'instances'?)",
      "pb.yml:11:7: unknown key 'tags' in a 'postconf' step (expected one of: name, when, instances, postconf, then, on_gate_failure)",
      "pb.yml:13:7: unknown key 'then' in a 'restart' step: then: is for steps that change settings (instances, postconf)",
    ]);
  });

  it("wrong types, at the value", async () => {
    const text = [
      "- hosts: all",
      "  serial: [1, 0, \"150%\"]",
      "  order: random",
      "  max_fail: -1",
      "  pause_between_batches: 2 minutes",
      "  vars: [a]",
      "  steps:",
      "    - restart: {healthy_timeout: soon}",
      "    - wait: {smtp: {port: http}, queue: {max: many}}",
      "    - run: ls -l",
      "    - postmulti: [-p, 1]",
      "    - instances: enabled",
      "      stop: yes",
      "    - undrain: now",
      "    - pause: {prompt: 1}",
    ].join("\n");
    expect(await problems(text)).toEqual([
      "pb.yml:2:15: serial[1] must be at least 1, not 0",
      "pb.yml:2:18: serial[2]: a percentage is at most 100%",
      "pb.yml:3:10: order is inventory, reverse_inventory, sorted, reverse_sorted, shuffle, or {shuffle: {seed: N}}",
      "pb.yml:4:13: max_fail must be at least 1, not -1",
      'pb.yml:5:26: pause_between_batches: a duration is a number of seconds or a string such as "30s", "2m", "1h30m" or "500ms"',
      "pb.yml:6:9: vars must be a mapping, not a list",
      'pb.yml:8:34: healthy_timeout: a duration is a number of seconds or a string such as "30s", "2m", "1h30m" or "500ms"',
      "pb.yml:9:27: port: expected a whole number (at least 1), or a {{ template }} that renders to one",
      "pb.yml:9:47: max: expected a whole number (at least 0), or a {{ template }} that renders to one",
      'pb.yml:10:12: run takes an argument list, or {argv: LIST} / {argv: "command line", shell: true}',
      "pb.yml:11:23: postmulti[1] must be a string, not the number 1",
      "pb.yml:13:13: stop: expected nothing (null) or {healthy_timeout: DURATION}",
      "pb.yml:14:16: undrain must be nothing (null), not the string 'now'",
      'pb.yml:15:14: pause takes a duration ("30s", 10) or {prompt: TEXT}',
    ]);
  });

  it("shapes beyond types: parameter and entry names, empty settings and checks, run's argv and shell", async () => {
    const text = [
      "- hosts: all",
      "  steps:",
      "    - postconf:",
      "        main_cf: {'bad name': 1}",
      "        master_cf: {smtp: {command: smtpd}}",
      "    - postconf: {}",
      "    - wait: {timeout: 10s}",
      "    - run: {argv: [a, b], shell: true}",
      "    - run: {argv: 'a | b'}",
      "- 3",
      "- hosts: all",
      "  steps: [restart]",
    ].join("\n");
    expect(await problems(text)).toEqual([
      "pb.yml:4:19: 'bad name': not a main.cf parameter name",
      'pb.yml:5:21: \'smtp\': a master.cf entry is named "service/type", e.g. "smtp/inet" or "127.0.0.1:10026/inet"',
      "pb.yml:6:17: postconf needs at least one of main_cf, main_cf_absent, master_cf",
      "pb.yml:7:13: wait needs at least one check: master, smtp, queue, command or probe",
      'pb.yml:8:19: argv: with shell: true, argv is one command line (a string), e.g. argv: "postqueue -p | tail -1"',
      "pb.yml:9:19: argv is a list of arguments (no shell); to run a command line through /bin/sh, add shell: true",
      "pb.yml:10:3: a play is a mapping (hosts:, steps:, ...), not '3'",
      "pb.yml:12:11: a step is a mapping with one step type key (instances, postconf, start, stop, restart, reload, wait, drain, undrain, postmulti, run, pause), not 'restart'",
    ]);
  });

  it("two step types in one step", async () => {
    expect(await problems("- hosts: all\n  steps:\n    - stop:\n      start:\n")).toEqual(["pb.yml:4:7: a step has exactly one type, and this one has 'stop' and 'start': split it into 2 steps"]);
  });

  it("instances: a selector or the declarative step, told apart by shape", async () => {
    // A list of mappings declares instances, so it cannot also select for restart.
    expect(await problems("- hosts: all\n  steps:\n    - instances: [{name: postfix-out}]\n      restart:\n")).toEqual([
      "pb.yml:4:7: a step has exactly one type, and this one has two: 'instances' (a list of mappings declares instances) and 'restart'; to select the instances 'restart' acts on, give instance names, all, enabled or {group: NAME}",
    ]);
    // Names alone select, and then a step type is missing.
    expect(await problems("- hosts: all\n  steps:\n    - instances: [postfix-out]\n")).toEqual([
      "pb.yml:3:7: this step has no type: here 'instances' selects instances (names, all, enabled or {group: NAME}); add what to do with them (postconf, start, stop, restart, reload, wait, drain, undrain, postmulti, run, pause), or declare instances as a list of mappings {name: postfix-out, ...}",
    ]);
    expect(await problems("- hosts: all\n  steps:\n    - instances: [postfix-in, {name: postfix-out}]\n      reload:\n")).toEqual([
      "pb.yml:3:18: instances mixes instance names and mappings: to select instances give names (or all, enabled, {group: NAME}); to declare instances (the 'instances' step) give every entry as a mapping {name: postfix-out, group: mta, ...}",
    ]);
    expect(await problems("- hosts: all\n  steps:\n    - instances: everything\n      reload:\n")).toEqual([
      'pb.yml:3:18: instances: an instance selector is "all", "enabled", a list of instance names ("-" is the primary), or {group: NAME}',
    ]);
    expect(await problems("- hosts: all\n  steps:\n    - postmulti: [-p, flush]\n      instances: enabled\n")).toEqual([
      "pb.yml:4:7: unknown key 'instances' in a 'postmulti' step (expected one of: name, when, postmulti)",
    ]);
  });

  it("declared instances: names, the primary, duplicates, states", async () => {
    const text = [
      "- hosts: all",
      "  steps:",
      "    - instances:",
      "        - {name: mta-out}",
      "        - {name: '-', state: absent}",
      "        - {name: postfix-in, state: gone}",
      "        - {name: postfix-x, group: mta}",
      "        - {name: postfix-x}",
    ].join("\n");
    expect(await problems(text)).toEqual(["pb.yml:6:37: state must be one of: enabled, disabled, absent, not the string 'gone'"]);
    const text2 = text.replace("state: gone", "state: disabled");
    expect(await problems(text2)).toEqual([
      'pb.yml:4:18: instance name \'mta-out\' must start with "postfix-" (postmulti\'s rule), or be "-" for the primary',
      'pb.yml:5:30: the primary instance ("-") cannot be absent',
      "pb.yml:8:18: instance 'postfix-x' is declared twice in this list (first as entry 4)",
    ]);
  });

  it("missing keys, at the mapping that lacks them", async () => {
    expect(await problems("- name: no hosts\n  steps: [{restart: }]\n- hosts: all\n")).toEqual([
      "pb.yml:1:3: missing required key 'hosts' in a play",
      "pb.yml:3:3: missing required key 'steps' in a play",
    ]);
    expect(await problems("- hosts: all\n  steps: []\n")).toEqual(["pb.yml:2:10: steps needs at least 1 entry"]);
  });

  it("an undefined variable, at the template, naming the host(s)", async () => {
    const text = "- hosts: all\n  steps:\n    - postconf:\n        main_cf:\n          relayhost: '{{ mailhub }}'\n";
    expect(await problems(text)).toEqual([
      "pb.yml:5:22: hosts mta01, mta02 and 8 more: 'mailhub' is undefined: define it in the inventory, in the play's vars or with -e",
    ]);
    // Defined for some hosts only: the others are named.
    const ini = fleetIni(4, "[fra:vars]\nmailhub=[hub.fra]\n");
    expect(await problems(text, { ini })).toEqual(["pb.yml:5:22: hosts mta02, mta04: 'mailhub' is undefined: define it in the inventory, in the play's vars or with -e"]);
    expect(await problems(text, { ini: fleetIni(1) })).toEqual(["pb.yml:5:22: host mta01: 'mailhub' is undefined: define it in the inventory, in the play's vars or with -e"]);
    // In when, and in hosts (where only play vars and -e exist).
    expect(await problems("- hosts: '{{ target }}'\n  steps:\n    - when: '{{ go }}'\n      restart:\n", { ini: fleetIni(1) })).toEqual([
      "pb.yml:1:10: hosts: 'target' is undefined: define it in the inventory, in the play's vars or with -e (only the play's vars and -e variables are known here)",
    ]);
    expect(await problems("- hosts: all\n  steps:\n    - when: go\n      restart:\n", { ini: fleetIni(1) })).toEqual([
      "pb.yml:3:13: host mta01: when: 'go' is undefined: define it in the inventory, in the play's vars or with -e",
    ]);
    expect(await problems("- hosts: all\n  vars: {go: maybe}\n  steps:\n    - when: go\n      restart:\n", { ini: fleetIni(1) })).toEqual([
      "pb.yml:4:13: host mta01: when: is 'maybe', which is neither true nor false (true/false, yes/no, on/off, 1/0)",
    ]);
  });

  it("a value that renders to the wrong type, for the host it renders on", async () => {
    const text = "- hosts: all\n  steps:\n    - wait:\n        smtp: {port: '{{ port }}'}\n";
    expect(await problems(text, { ini: fleetIni(1, "[mta:vars]\nport=smtp\n") })).toEqual([
      "pb.yml:4:22: host mta01: rendered as the string 'smtp': port: expected a whole number (at least 1), or a {{ template }} that renders to one",
    ]);
    expect(await problems("- hosts: all\n  steps:\n    - restart: {healthy_timeout: '{{ t }}'}\n", { ini: fleetIni(1), extraVars: { t: "later" } })).toEqual([
      'pb.yml:3:34: host mta01: rendered as the string \'later\': healthy_timeout: a duration is a number of seconds or a string such as "30s", "2m", "1h30m" or "500ms"',
    ]);
  });

  it("a bad host pattern, at hosts", async () => {
    expect(await problems("- hosts: '~mta('\n  steps: [{restart: }]\n")).toEqual(["pb.yml:1:10: bad host pattern '~mta(': invalid host pattern '~mta(': not a valid regular expression"]);
    expect(await problems("- hosts: mta[20]\n  steps: [{restart: }]\n")).toEqual([
      "pb.yml:1:10: bad host pattern 'mta[20]': No hosts matched the subscripted pattern 'mta[20]': the index is beyond the 10 host(s) matched",
    ]);
  });

  it("a pause with a prompt, when there is no terminal", async () => {
    const text = "- hosts: all\n  steps:\n    - pause: {prompt: 'Check the canary, then press Enter'}\n";
    expect(await problems(text)).toEqual(["pb.yml:3:14: pause with a prompt needs a terminal, and this run has none: use a duration (pause: 30s), or run from a terminal"]);
    const pb = await load(text, { interactive: true });
    expect(pb.plays[0]!.steps["mta01"]![0]).toMatchObject({ type: "pause", prompt: "Check the canary, then press Enter" });
  });

  it("collects every problem of the file, in file order", async () => {
    const text = "- hosts: all\n  serial: lots\n  steps:\n    - restrat:\n- hosts: all\n  steps:\n    - stop: {x: 1}\n";
    const e = await load(text).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PlaybookError);
    const issues = (e as PlaybookError).issues.map((i) => [i.line, i.column]);
    expect(issues).toEqual([
      [2, 11],
      [4, 7],
      [7, 14],
    ]);
  });
});
