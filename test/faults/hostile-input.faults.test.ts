// The hostile-input corpus (test/faults/corpus/): metacharacters in host
// names, groups, connection variables, instance names, parameters, paths and
// variables; malformed and oversized inventories and playbooks; known_hosts
// lines that are unknown, changed, hashed, @revoked, @cert-authority. Each
// must give a clear error or the correct result, in bounded time, and run
// nothing unintended: the marker file a shell would create exists neither on
// the controller nor on the lab hosts afterwards.
import { execFile } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab, type TestLabHost } from "../support/lab.js";
import { docOf, startController, type ControllerResult } from "../support/faults/controller.js";
import { recordCase } from "../support/faults/figures.js";
import { hostLeftovers } from "../support/faults/host-checks.js";

const run = promisify(execFile);
const CORPUS = join(import.meta.dirname, "corpus");
const blob = (hostKey: string) => hostKey.split(" ").slice(0, 2).join(" ");

describe("hostile inputs", () => {
  let lab: Lab;
  let main: TestLabHost; // the host most cases reach
  let fresh: TestLabHost; // never reached with a good key before the known_hosts cases
  let work: string;
  let mark: string;
  let n = 0;

  beforeAll(async () => {
    lab = await startLab(2);
    [main, fresh] = lab.hosts as [TestLabHost, TestLabHost];
    await main.exec("postmulti -e init");
    work = mkdtempSync(join(tmpdir(), "postfleet-hostile-"));
  });
  afterAll(async () => {
    await lab?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A fresh case directory and marker path (the same path is checked on the controller and the hosts). */
  function caseDir(): string {
    n++;
    mark = join(tmpdir(), `postfleet-pwned-${process.pid}-${n}`);
    const d = join(work, `case${n}`);
    mkdirSync(d);
    return d;
  }
  /** A corpus file with its placeholders filled, in `dir`. */
  function materialize(rel: string, dir: string, name = rel.split("/").pop()!): string {
    const text = readFileSync(join(CORPUS, rel), "latin1")
      .replaceAll("@MARK@", mark)
      .replaceAll("@ADDR@", main.address)
      .replaceAll("@PORT@", String(main.port));
    const out = join(dir, name);
    writeFileSync(out, text, "latin1");
    return out;
  }
  /** Connection variables of the lab for every host of an inventory in `dir`. */
  function labVars(dir: string, extra = ""): void {
    mkdirSync(join(dir, "group_vars"), { recursive: true });
    writeFileSync(
      join(dir, "group_vars", "all.yml"),
      `ansible_user: root\nansible_ssh_private_key_file: ${lab.privateKeyPath}\npostfleet_known_hosts_file: ${lab.knownHostsPath}\n${extra}`,
    );
  }
  const cli = (args: string[], limitMs = 60_000) => startController(args, { env: { HOME: join(lab.dir, "home") }, limitMs }).done;

  /** Nothing of the injected text ran: no marker on the controller or on any host. */
  async function executedNothing(): Promise<string[]> {
    const found: string[] = [];
    if (existsSync(mark)) found.push(`controller: ${mark} exists`);
    for (const h of lab.hosts) if ((await h.exec(["test", "-e", mark])).exitCode === 0) found.push(`${h.name}: ${mark} exists`);
    return found;
  }

  /** Record and assert one corpus case. */
  async function corpusCase(name: string, r: ControllerResult, problems: string[]): Promise<void> {
    const ran = await executedNothing();
    const leaked = (await Promise.all(lab.hosts.map((h) => hostLeftovers(h)))).flat();
    const details = [...(r.hung ? [`hung: killed after ${r.ms} ms`] : []), ...ran, ...problems, ...leaked];
    recordCase({ case: `hostile: ${name}`, leaked: leaked.length, details });
    expect(details, `${name}\nexit ${r.exitCode}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`).toEqual([]);
  }
  /** Exit 1 with a message that names the file (and a line), in bounded time. */
  function clearError(r: ControllerResult, file: string, o: { line?: boolean; withinMs?: number } = {}): string[] {
    const p: string[] = [];
    if (r.exitCode !== 1) p.push(`exit ${r.exitCode} (signal ${r.signal}), expected 1`);
    if (!r.stderr.includes(file.split("/").pop()!)) p.push(`the error does not name ${file}`);
    if (o.line !== false && !/:\d+/.test(r.stderr)) p.push("the error gives no line");
    if (r.stdout.trim() !== "" && !r.stdout.trim().startsWith("{")) p.push(`stdout not empty: ${r.stdout.slice(0, 200)}`);
    if (r.ms > (o.withinMs ?? 10_000)) p.push(`took ${r.ms} ms`);
    return p;
  }

  it("metacharacters in host and group names: reached as named, nothing executed", async () => {
    const d = caseDir();
    const inv = materialize("inventories/metachar-hosts.yml", d);
    labVars(d);
    const r = await cli(["-i", inv, "--json", "ping"]);
    const p: string[] = [];
    if (r.exitCode === 0) {
      const names = (docOf(r)?.hosts ?? []).map((h: any) => h.host).sort();
      if (JSON.stringify(names) !== JSON.stringify([`mta;touch ${mark}`, `mta\`touch ${mark}\``].sort())) p.push(`hosts ${JSON.stringify(names)}`);
    } else if (r.exitCode !== 1 || !/error/.test(r.stderr)) p.push(`exit ${r.exitCode}: neither a result nor a clear error`);
    await corpusCase("metacharacters in host and group names", r, p);
  });

  it("metacharacters in connection variables (node path, become user, ssh options, key file, address): refused per host, nothing executed", async () => {
    const d = caseDir();
    const inv = materialize("inventories/metachar-vars.yml", d);
    labVars(d);
    const r = await cli(["-i", inv, "--json", "-T", "15", "ping"]);
    const p: string[] = [];
    const doc = docOf(r);
    if (r.exitCode === 1) {
      if (!/error/.test(r.stderr)) p.push("exit 1 without an error");
    } else if (!doc) p.push(`exit ${r.exitCode} and no document`);
    else
      for (const h of doc.hosts) {
        // None can work as written.
        if (h.status === "ok" || h.status === "changed") p.push(`${h.host}: ${h.status} with a hostile value`);
        if (h.status !== "ok" && !h.error) p.push(`${h.host}: ${h.status} without an error`);
      }
    await corpusCase("metacharacters in connection variables", r, p);
  });

  it("malformed inventories: exit 1 naming file and line", async () => {
    for (const f of ["inventories/bad-yaml.yml", "inventories/malformed.ini", "inventories/invalid-utf8.yml"]) {
      const d = caseDir();
      const inv = materialize(f, d);
      const r = await cli(["-i", inv, "--list-hosts", "ping"]);
      await corpusCase(`malformed inventory ${f}`, r, clearError(r, inv));
    }
  });

  it("oversized inventories (alias bomb, a 100-million-host range): a clear error within seconds", async () => {
    for (const f of ["inventories/alias-bomb.yml", "inventories/huge-range.ini"]) {
      const d = caseDir();
      const inv = materialize(f, d);
      const r = await cli(["-i", inv, "--list-hosts", "ping"], 30_000);
      await corpusCase(`oversized inventory ${f}`, r, clearError(r, inv));
    }
  });

  it("metacharacters in parameter values, a run step's argv and -e variables: set and passed verbatim", async () => {
    const d = caseDir();
    const pb = materialize("playbooks/metachar-values.yml", d);
    const evil = `\`touch ${mark}\`'"; touch ${mark} $$(touch ${mark})`;
    const r = await cli(["-i", lab.inventoryPath, "-l", "mta01", "run", pb, "-e", JSON.stringify({ evil_var: evil }), "--json"]);
    const p: string[] = [];
    if (r.exitCode !== 0) p.push(`exit ${r.exitCode}`);
    const banner = (await main.exec(["postconf", "-h", "smtpd_banner"])).stdout.replace(/\n$/, "");
    const want = `$myhostname ESMTP \`touch ${mark}\` ; touch ${mark} | touch ${mark} && touch ${mark} ${evil}`;
    if (banner !== want) p.push(`smtpd_banner is ${JSON.stringify(banner)}, not ${JSON.stringify(want)}`);
    const out = JSON.stringify(docOf(r) ?? {});
    if (!out.includes(JSON.stringify(`$(touch ${mark})|;touch ${mark}|\`touch ${mark}\`|`).slice(1, -1))) p.push("run step output is not the argv verbatim");
    await main.exec("postconf -X smtpd_banner");
    await corpusCase("metacharacters in values, argv and variables", r, p);
  });

  it("a newline in a parameter value adds no other parameter", async () => {
    const d = caseDir();
    const pb = materialize("playbooks/newline-param.yml", d);
    const before = (await main.exec(["postconf", "-n"])).stdout;
    const r = await cli(["-i", lab.inventoryPath, "-l", "mta01", "run", pb, "--json"]);
    const after = await main.exec(["postconf", "-n"]);
    const p: string[] = [];
    if (after.exitCode !== 0) p.push("postconf -n fails afterwards");
    if (/^mydestination = evil/m.test(after.stdout)) p.push("the newline created mydestination = evil.example");
    if (r.exitCode !== 0 && r.exitCode !== 1 && r.exitCode !== 2) p.push(`exit ${r.exitCode}`);
    if (r.exitCode !== 0 && after.stdout !== before) p.push("refused, yet main.cf changed");
    await main.exec("postconf -X smtpd_banner");
    await corpusCase("newline in a parameter value", r, p);
  });

  it("metacharacters in a parameter name, a master.cf key and an instance name: refused, nothing created", async () => {
    const d = caseDir();
    const pb = materialize("playbooks/metachar-names.yml", d);
    const before = await main.exec("postmulti -l; postconf -n; postconf -M");
    const r = await cli(["-i", lab.inventoryPath, "-l", "mta01", "run", pb, "--json"]);
    const after = await main.exec("postmulti -l; postconf -n; postconf -M");
    const p: string[] = [];
    if (r.exitCode !== 1 && r.exitCode !== 2) p.push(`exit ${r.exitCode}: a hostile name was accepted`);
    if (after.stdout !== before.stdout) p.push(`the host changed:\n${after.stdout}`);
    await corpusCase("metacharacters in names", r, p);
  });

  it("malformed playbooks (bad YAML, not a list, binary, an alias bomb): exit 1 naming the file, nothing reached", async () => {
    for (const f of ["playbooks/bad-yaml.yml", "playbooks/not-a-list.yml", "playbooks/binary.yml", "playbooks/alias-bomb.yml"]) {
      const d = caseDir();
      const pb = materialize(f, d);
      const r = await cli(["-i", lab.inventoryPath, "run", pb], 30_000);
      await corpusCase(`malformed playbook ${f}`, r, clearError(r, pb, { line: f !== "playbooks/binary.yml" }));
    }
  });

  it("an oversized playbook (8 MB value, 20,000 steps): a clear error or a correct result, in bounded time", async () => {
    const d = caseDir();
    const big = join(d, "big.yml");
    writeFileSync(big, `- hosts: all\n  vars:\n    blob: "${"x".repeat(8 << 20)}"\n  steps:\n${"    - pause: 0s\n".repeat(20_000)}`);
    const r = await cli(["-i", lab.inventoryPath, "run", big, "--list-hosts"], 60_000);
    const p: string[] = [];
    if (r.exitCode === 0) {
      if (!/mta01/.test(r.stdout)) p.push("no hosts listed");
    } else p.push(...clearError(r, big, { line: false, withinMs: 30_000 }));
    await corpusCase("oversized playbook", r, p);
  });

  it("metacharacters in paths (playbook, retry file): used as paths", async () => {
    const d = caseDir();
    const sub = join(d, `dir;touch ${mark.replaceAll("/", "_")} $(touch x)`);
    mkdirSync(sub);
    const pb = join(sub, `p'$(touch ${mark.replaceAll("/", "_")}).yml`);
    writeFileSync(pb, "- hosts: all\n  steps:\n    - instances: [\"-\"]\n      run: [\"true\"]\n");
    const retry = join(sub, "r`touch x`.retry");
    const bad = join(d, "with-dead.yml");
    writeFileSync(bad, readFileSync(lab.inventoryPath, "utf8") + `    dead:\n      hosts:\n        mta99:\n          ansible_host: 127.0.0.1\n          ansible_port: 1\n`);
    const r = await cli(["-i", bad, "-T", "3", "run", pb, "--retry-file", retry]);
    const p: string[] = [];
    if (r.exitCode !== 3) p.push(`exit ${r.exitCode}, expected 3 (one host unreachable)`);
    if (!existsSync(retry) || readFileSync(retry, "utf8") !== "mta99\n") p.push("retry file not written at its path");
    const strays = readdirSync(process.cwd()).filter((f) => f.includes("touch") || f === "x");
    if (strays.length) p.push(`files created from path text: ${strays.join(", ")}`);
    await corpusCase("metacharacters in paths", r, p);
  });

  describe("known_hosts", () => {
    const hashed = (name: string) => {
      const salt = randomBytes(20);
      return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
    };
    const name = () => `[${fresh.address}]:${fresh.port}`;
    const otherKey = () => blob(main.hostKey);
    const ownKey = () => blob(fresh.hostKey);

    async function khCase(label: string, lines: string, o: { bad: boolean; checking?: string; become?: boolean }) {
      const d = caseDir();
      const kh = join(d, "known_hosts");
      writeFileSync(kh, lines);
      const inv = join(d, "inv.yml");
      writeFileSync(
        inv,
        `all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: ${lab.privateKeyPath}\n    postfleet_known_hosts_file: ${kh}\n  hosts:\n    fresh:\n      ansible_host: ${fresh.address}\n      ansible_port: ${fresh.port}\n`,
      );
      const r = await cli(["-i", inv, "--json", "-T", "15", ...(o.checking ? ["--host-key-checking", o.checking] : []), "ping"]);
      const doc = docOf(r);
      const h = doc?.hosts?.[0];
      const accepted = h?.status === "ok";
      const p: string[] = [];
      if (o.bad && accepted) p.push(`a bad host key was accepted (${label})`);
      if (o.bad && !accepted && !/host key|known_hosts|revoked|cert-authority/i.test(h?.error ?? r.stderr)) p.push(`refused without saying why: ${h?.error}`);
      if (!o.bad && !accepted) p.push(`a good host key was refused: ${h?.error ?? r.stderr}`);
      const ran = await executedNothing();
      const leaked = (await Promise.all(lab.hosts.map((x) => hostLeftovers(x)))).flat();
      const details = [...p, ...ran, ...leaked];
      recordCase({ case: `hostile: known_hosts ${label}`, badKeysAccepted: o.bad && accepted ? 1 : 0, leaked: leaked.length, details });
      expect(details, `${label}\n${r.stdout.slice(0, 1500)}\n${r.stderr.slice(0, 1500)}`).toEqual([]);
      return kh;
    }

    /** Logins sshd accepted on the fresh host so far (its log is the container's stderr). */
    const logins = async () => {
      const { stdout, stderr } = await run("docker", ["logs", fresh.containerId]);
      return `${stdout}${stderr}`.split("\n").filter((l) => /Accepted publickey/.test(l)).length;
    };

    it("unknown, changed, hashed-changed, @revoked, @cert-authority and accept-new over a changed key: refused, nothing run on the host", async () => {
      const before = await logins();
      await khCase("unknown host", `[other.example]:22 ${ownKey()}\n`, { bad: true });
      await khCase("changed key", `${name()} ${otherKey()}\n`, { bad: true });
      await khCase("hashed entry, changed key", `${hashed(name())} ${otherKey()}\n`, { bad: true });
      await khCase("@revoked key (also listed as known)", `@revoked ${name()} ${ownKey()}\n${name()} ${ownKey()}\n`, { bad: true });
      await khCase("@cert-authority only (the host shows a plain key)", `@cert-authority ${name()} ${ownKey()}\n`, { bad: true });
      await khCase("accept-new over a changed key", `${name()} ${otherKey()}\n`, { bad: true, checking: "accept-new" });
      // None of them got as far as logging in (so nothing was uploaded or run).
      expect(await logins()).toBe(before);
    });

    it("hashed and plain entries of the right key: accepted", async () => {
      await khCase("hashed entry, right key", `${hashed(name())} ${ownKey()}\n`, { bad: false });
      await khCase("plain entry among comments and other hosts", `# comment\n\n[x.example]:22 ${otherKey()}\n${name()} ${ownKey()}\n`, { bad: false });
    });
  });
});
