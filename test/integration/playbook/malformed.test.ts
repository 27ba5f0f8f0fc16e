// Malformed playbooks through the built CLI against a real lab host: bad YAML,
// an unknown step, wrong types, an undefined variable, a prompt without a
// terminal. Each is rejected before anything connects: exit 1, every problem
// at FILE:LINE:COLUMN on stderr, nothing on stdout (also with --json), and
// nothing touched on the host (no agent pushed, no Postfix started).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "../../support/lab.js";
import { runPlaybook } from "../../support/playbook.js";
import { postfixState } from "../../support/postfix-state.js";

const dir = mkdtempSync(join(tmpdir(), "postfleet-malformed-"));
function playbook(name: string, yaml: string): string {
  writeFileSync(join(dir, name), yaml);
  return name;
}

const CASES: Array<{ what: string; file: string; errors: RegExp[] }> = [
  {
    what: "bad YAML",
    file: playbook("bad-yaml.yml", "- name: x\n  hosts: all\n  steps: [\n    - start:\n"),
    errors: [/^postfleet: error: bad-yaml\.yml:4:5: YAML: /m],
  },
  {
    what: "an unknown step",
    file: playbook("unknown-step.yml", "- name: x\n  hosts: all\n  steps:\n    - start:\n    - restat:\n"),
    errors: [/^postfleet: error: unknown-step\.yml:5:7: unknown step type 'restat' \(did you mean 'restart'\?\)$/m],
  },
  {
    what: "wrong types (every one reported)",
    file: playbook("types.yml", "- name: x\n  hosts: all\n  serial: many\n  max_fail: true\n  steps:\n    - start:\n        healthy_timeout: [1]\n"),
    errors: [/^postfleet: error: types\.yml:3:11: serial /m, /^types\.yml:4:13: max_fail: /m, /^types\.yml:7:9: start: /m],
  },
  {
    what: "an undefined variable",
    file: playbook("undefined.yml", '- name: x\n  hosts: all\n  steps:\n    - postconf:\n        main_cf:\n          relayhost: "{{ mailhub }}"\n'),
    errors: [/^postfleet: error: undefined\.yml:6:22: host mta01: 'mailhub' is undefined: define it in the inventory, in the play's vars or with -e$/m],
  },
  {
    what: "a prompt without a terminal",
    file: playbook("prompt.yml", '- name: x\n  hosts: all\n  steps:\n    - start:\n    - pause:\n        prompt: "Go on?"\n'),
    errors: [/^postfleet: error: prompt\.yml:6:9: pause with a prompt needs a terminal/m],
  },
];

describe("malformed playbooks are rejected at FILE:LINE:COLUMN and nothing runs", { timeout: 480_000 }, () => {
  let lab: Lab;
  let before: string;

  beforeAll(async () => {
    lab = await startLab(1);
    before = await postfixState(lab.hosts[0]!);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  for (const c of CASES) {
    it(`${c.what}: exit 1, the location on stderr, nothing on stdout (also with --json and --list-hosts)`, async () => {
      for (const extra of [[], ["--json"], ["--list-hosts"]]) {
        const r = await runPlaybook(lab, c.file, extra, { cwd: dir });
        expect(r.exitCode, `${extra.join(" ")}: ${r.stderr}`).toBe(1);
        expect(r.stdout).toBe("");
        for (const e of c.errors) expect(r.stderr).toMatch(e);
      }
    });
  }

  it("the same playbook with the variable given by -e is accepted (the error above was the variable)", async () => {
    const r = await runPlaybook(lab, CASES[3]!.file, ["--list-hosts", "-e", "mailhub=[hub]"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("batch 1 (1 host): mta01");
  });

  it("the host was never touched: no agent pushed, no Postfix started, configuration and file trees as they were", async () => {
    const h = lab.hosts[0]!;
    expect((await h.exec(["test", "-e", "/root/.cache/postfleet"])).exitCode).not.toBe(0);
    expect((await h.exec("postfix status")).exitCode).not.toBe(0);
    expect(await postfixState(h)).toBe(before);
  });
});
