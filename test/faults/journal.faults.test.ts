// The run journal under faults:
// a state directory that cannot hold a journal (a regular file in the way, a
// full file system) stops the run before any host is touched; a file system
// that fills up mid-run stops new hosts, lets the one in flight finish, and
// says so; planted secrets (become password in a vault, the vault password,
// a key passphrase, a password-like extra var) never reach the journal or
// the event stream; a controller SIGKILLed during `postmulti -x sleep` leaves
// a run listed `interrupted` that shows how far it got.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postfleet } from "../support/cli.js";
import { startLab, type Lab } from "../support/lab.js";
import { until, writePlaybook } from "../support/playbook.js";
import { docOf, startController } from "../support/faults/controller.js";
import { recordCase } from "../support/faults/figures.js";
import { masterPids } from "../support/faults/host-checks.js";
import { vaultedBecomeInventory } from "../support/faults/vault-inventory.js";

const BECOME = "pf-Become-71c0d2e9";
const VAULT_PASSWORD = "pf-VaultPw-5a93bb14";
const PASSPHRASE = "pf-KeyPass-e2f84c07";
const EXTRA_SECRET = "pf-ExtraVar-0b6d51aa";
const SECRETS = [BECOME, VAULT_PASSWORD, PASSPHRASE, EXTRA_SECRET];

describe("the run journal under faults", () => {
  let lab: Lab;
  let dir: string;
  let inv: string;
  let vaultFile: string;
  let stop: string; // a playbook that stops every instance: any host touched would show it
  const mounts: string[] = [];

  beforeAll(async () => {
    lab = await startLab(2, { user: "ops", sudoPassword: BECOME });
    await Promise.all(lab.hosts.map((h) => h.exec("postfix start")));
    dir = mkdtempSync(join(tmpdir(), "postfleet-journal-"));
    vaultFile = join(dir, "vault-pass");
    writeFileSync(vaultFile, `${VAULT_PASSWORD}\n`, { mode: 0o600 });
    // The lab's login key, encrypted with a passphrase given through POSTFLEET_SSH_KEY_PASSPHRASE.
    const key = join(dir, "id_enc");
    copyFileSync(lab.privateKeyPath, key);
    execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", PASSPHRASE, "-f", key]);
    inv = join(dir, "inv.yml");
    writeFileSync(inv, vaultedBecomeInventory(lab, { become: BECOME, vaultPassword: VAULT_PASSWORD, keyFile: key }));
    stop = writePlaybook("stop.yml", "- name: Stop all\n  hosts: all\n  steps:\n    - name: stop\n      instances: all\n      stop:\n");
  });
  afterAll(async () => {
    for (const m of mounts) {
      try {
        execFileSync("umount", [m]);
      } catch {
        // already gone
      }
    }
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (state: string) => ({ HOME: join(lab.dir, "home"), XDG_STATE_HOME: state, POSTFLEET_SSH_KEY_PASSPHRASE: PASSPHRASE });
  const controller = (state: string, args: string[], limitMs = 120_000) => startController(["-i", inv, "--vault-password-file", vaultFile, ...args], { env: env(state), limitMs });

  /** A tmpfs of `kb` KiB at a fresh directory (the tests run as root). */
  function tinyFs(kb: number): string {
    const m = mkdtempSync(join(dir, "fs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${kb}k`, "tmpfs", m]);
    mounts.push(m);
    return m;
  }
  /** Fill a file system up to the last byte. */
  function fill(m: string): void {
    try {
      execFileSync("sh", ["-c", `cat /dev/zero > ${m}/fill`], { stdio: "ignore" });
    } catch {
      // ENOSPC ends it: full
    }
  }

  it("a state directory that cannot hold a journal (a file in the way; a full file system): exit 1 before any host is touched", async () => {
    const before = await Promise.all(lab.hosts.map((h) => masterPids(h)));
    const blocked = join(dir, "not-a-dir");
    writeFileSync(blocked, "");
    const full = tinyFs(64);
    mkdirSync(join(full, "postfleet", "runs"), { recursive: true });
    fill(full);
    for (const state of [blocked, full]) {
      const r = await controller(state, ["run", stop]).done;
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/postfleet: error: cannot (create|write) the run's journal.*nothing was started/);
    }
    // The full file system keeps no half-made run (a journal without its start record).
    expect(readdirSync(join(full, "postfleet", "runs"))).toEqual([]);
    const pm = await controller(blocked, ["postmulti", "-p", "stop"]).done;
    expect(pm.exitCode, pm.stderr).toBe(1);
    // Nothing stopped, nothing restarted: the same masters, same pids.
    expect(await Promise.all(lab.hosts.map((h) => masterPids(h)))).toEqual(before);
    recordCase({ case: "journal: unwritable state directory stops the run before any host" });
  }, 120_000);

  it("a file system that fills up mid-run: no new host starts, the host in flight finishes, the run says why (exit 4)", async () => {
    const fs = tinyFs(256);
    // The fill comes during mta01's pause; its next records (a host_end holding 8 KB of output) need new pages: ENOSPC.
    const pb = writePlaybook(
      "slow.yml",
      '- name: Slow\n  hosts: all\n  serial: 1\n  steps:\n    - name: think\n      pause: 3s\n    - name: talk\n      instances: ["-"]\n      run:\n        shell: true\n        argv: "head -c 8192 /dev/zero | tr \'\\\\0\' x"\n',
    );
    const c = controller(fs, ["run", pb, "--json"]);
    const journal = () => {
      const ids = existsSync(join(fs, "postfleet", "runs")) ? readdirSync(join(fs, "postfleet", "runs")) : [];
      return ids.length ? join(fs, "postfleet", "runs", ids[0]!, "journal.jsonl") : "";
    };
    await until(async () => !!journal() && readFileSync(journal(), "utf8").includes('"name":"think"'), "mta01 to be in its pause", 60_000);
    fill(fs);
    const r = await c.done;
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/journal .* cannot be written \(.*ENOSPC.*\): starting no new host/);
    const doc = docOf(r);
    // mta01 was in flight: it finished (its last step run, or skipped if the failure came first); mta02 never started.
    const [first, second] = doc.plays[0].batches.map((b: any) => b.hosts[0]);
    expect([first.host, second.host]).toEqual(["mta01", "mta02"]);
    expect(["ok", "changed"]).toContain(first.status);
    expect(second.status).toBe("skipped");
    expect(second.startedAt).toBeUndefined();
    expect(doc.aborted).toBe(true);
    recordCase({ case: "journal: full file system mid-run stops new hosts" });
  }, 120_000);

  it("no secret in the journal or the event stream: become password (vault), vault password, key passphrase, a password extra var", async () => {
    const state = mkdtempSync(join(dir, "state-"));
    const events = join(dir, "events.jsonl");
    const pb = writePlaybook("restart.yml", "- name: Restart\n  hosts: all\n  steps:\n    - name: restart\n      instances: enabled\n      restart:\n");
    const r = await controller(state, ["run", pb, "-e", `smtp_password=${EXTRA_SECRET}`, "-e", `{"relay": {"api_token": "${EXTRA_SECRET}"}}`, "--events", events]).done;
    expect(r.exitCode, r.stderr).toBe(0);
    const runs = readdirSync(join(state, "postfleet", "runs"));
    expect(runs).toHaveLength(1);
    const journal = readFileSync(join(state, "postfleet", "runs", runs[0]!, "journal.jsonl"), "utf8");
    const show = await postfleet(["runs", "show", runs[0]!, "--json"], { env: env(state) });
    const texts = { journal, events: readFileSync(events, "utf8"), show: show.stdout, stdout: r.stdout, stderr: r.stderr };
    const found = Object.entries(texts).flatMap(([where, t]) => SECRETS.filter((s) => t.includes(s)).map((s) => `${s} in ${where}`));
    recordCase({ case: "journal: planted secrets", secrets: found.length, details: found });
    expect(found).toEqual([]);
    // What is recorded instead: the extra vars with their secret values redacted, the command line without them.
    const start = JSON.parse(journal.split("\n")[0]!);
    expect(start.extraVars).toEqual({ smtp_password: "<redacted>", relay: { api_token: "<redacted>" } });
    expect(start.argv).toContain("<extra vars: see extraVars>");
    expect(start.controller.pid).toBeGreaterThan(0);
  }, 180_000);

  it("a secret extra var rendered into a run step's command and output: masked in the journal, the event stream and runs show", async () => {
    const state = mkdtempSync(join(dir, "state-"));
    const events = join(dir, "events-rendered.jsonl");
    const pb = writePlaybook("echo.yml", '- name: Echo\n  hosts: all\n  steps:\n    - name: say it\n      instances: ["-"]\n      run: ["echo", "{{ smtp_password }}"]\n');
    const r = await controller(state, ["run", pb, "-e", `smtp_password=${EXTRA_SECRET}`, "--events", events, "--json"]).done;
    expect(r.exitCode, r.stderr).toBe(0);
    // The operator's own --json shows what the step printed (as Ansible shows a command's output) ...
    expect(r.stdout).toContain(EXTRA_SECRET);
    const runs = readdirSync(join(state, "postfleet", "runs"));
    const journal = readFileSync(join(state, "postfleet", "runs", runs[0]!, "journal.jsonl"), "utf8");
    const show = await postfleet(["runs", "show", runs[0]!, "--json"], { env: env(state) });
    const texts = { journal, events: readFileSync(events, "utf8"), show: show.stdout };
    const found = Object.entries(texts).filter(([, t]) => t.includes(EXTRA_SECRET)).map(([where]) => `${EXTRA_SECRET} in ${where}`);
    recordCase({ case: "journal: a secret extra var rendered into a step", secrets: found.length, details: found });
    // ... but nothing written to disk keeps it: the value is masked where it appears.
    expect(found).toEqual([]);
    expect(journal).toContain("echo <redacted>");
  }, 180_000);

  it("a controller SIGKILLed during postmulti -x sleep: runs lists it interrupted, runs show names the hosts in flight", async () => {
    const state = mkdtempSync(join(dir, "state-"));
    const c = controller(state, ["postmulti", "-x", "sleep", "60"]);
    const runsDir = join(state, "postfleet", "runs");
    let journal = "";
    await until(async () => {
      const ids = existsSync(runsDir) ? readdirSync(runsDir) : [];
      journal = ids.length ? join(runsDir, ids[0]!, "journal.jsonl") : "";
      return !!journal && (readFileSync(journal, "utf8").match(/"type":"host_start"/g) ?? []).length === 2;
    }, "both hosts to start", 60_000);
    await new Promise((r) => setTimeout(r, 1500)); // the sleeps are running on the hosts
    c.signal("SIGKILL");
    await c.done;
    const list = JSON.parse((await postfleet(["runs", "--json"], { env: env(state) })).stdout);
    expect(list.runs).toHaveLength(1);
    expect(list.runs[0]).toMatchObject({ command: "postmulti -x sleep 60", status: "interrupted", finished: null, inFlight: [{ host: "mta01" }, { host: "mta02" }] });
    const show = JSON.parse((await postfleet(["runs", "show", list.runs[0].id, "--json"], { env: env(state) })).stdout);
    expect(show.aborted).toBe(true);
    expect(show.hosts.map((h: any) => [h.host, h.status, h.error])).toEqual([
      ["mta01", "skipped", "in flight when the run stopped"],
      ["mta02", "skipped", "in flight when the run stopped"],
    ]);
    recordCase({ case: "journal: SIGKILL during postmulti -x sleep, listed interrupted" });
  }, 120_000);
});
