// Over 400 lines: one class, Pass, mirrors readconf.c's one keyword switch (process_config_line).
// Our own ssh_config evaluator, faithful to OpenSSH 9.2's readconf.c for the
// keywords postfleet honours: line syntax (Keyword value / Keyword=value,
// quotes, comments), Host and Match blocks, Include (globs, nesting, inside
// blocks), first obtained value wins, and the second pass `Match final` asks
// for. What cannot be evaluated here (Match exec, ProxyCommand, hostname
// canonicalization, KnownHostsCommand, RevokedHostKeys...) is refused when it
// could change where or how the connection goes or which host keys ssh
// accepts, rather than silently skipped: skipping an included ProxyJump
// reaches a host around its bastion, skipping a KnownHostsCommand accepts a
// key ssh refuses.
import { isIP } from "node:net";
import { TransportConfigError } from "../errors.js";
import { readProxyJump } from "../proxy-jump.js";
import { closestSshConfigKeyword, sshConfigKeywordElsewhere } from "./keywords.js";
import { expandGlobTilde, globPaths } from "./glob.js";
import { Delim, loadFile, type ConfigLine } from "./parse.js";
import { matchHostname, matchPattern, matchPatternList } from "./patterns.js";
import { parseTimeSpec } from "./timeouts.js";
import type { ConfigFileRef, ConfigScope, Evaluation, EvaluationInput, ObtainedConfig, Origin } from "./types.js";

/** OpenSSH's include depth limit (READCONF_MAX_DEPTH). */
const MAX_INCLUDE_DEPTH = 16;

/** Keywords this evaluator interprets; ssh's other keywords are skipped (postfleet ignores them). */
const INTERPRETED = new Set([
  "ignoreunknown",
  "host",
  "match",
  "include",
  "hostname",
  "user",
  "port",
  "identityfile",
  "certificatefile",
  "proxyjump",
  "proxycommand",
  "connecttimeout",
  "userknownhostsfile",
  "stricthostkeychecking",
  "hashknownhosts",
  "canonicalizehostname",
  "globalknownhostsfile",
  "hostkeyalias",
  "checkhostip",
  "knownhostscommand",
  "revokedhostkeys",
]);

/** Whether a block applies: yes, no, or maybe (an unevaluable Match, with where it is). */
type Activity = { state: "yes" } | { state: "no" } | { state: "maybe"; why: string };
const YES: Activity = { state: "yes" };
const NO: Activity = { state: "no" };

function both(a: Activity, b: Activity): Activity {
  if (a.state === "no" || b.state === "no") return NO;
  if (a.state === "maybe") return a;
  return b;
}

/** Match criteria postfleet cannot evaluate (newer OpenSSH knows localnetwork and tagged). */
const UNEVALUABLE_CRITERIA = new Set(["exec", "localnetwork", "tagged"]);

/** Where each honoured keyword should go instead, for the refusal messages. */
const INSTEAD: Record<string, string> = {
  hostname: "ansible_host in the inventory",
  port: "ansible_port in the inventory",
  user: "ansible_user in the inventory",
  proxyjump: "postfleet_proxy_jump in the inventory",
  proxycommand: "postfleet_proxy_jump in the inventory (or ProxyJump)",
  identityfile: "ansible_ssh_private_key_file in the inventory",
  userknownhostsfile: "postfleet_known_hosts_file in the inventory",
  globalknownhostsfile: "GlobalKnownHostsFile in a Host block",
  hostkeyalias: "HostKeyAlias in a Host block",
  checkhostip: "CheckHostIP in a Host block",
  knownhostscommand: "KnownHostsCommand in a Host block",
  revokedhostkeys: "RevokedHostKeys in a Host block",
  stricthostkeychecking: "postfleet_host_key_checking in the inventory",
  connecttimeout: "ConnectTimeout in a Host block",
  canonicalizehostname: "the full host name (HostName in a Host block, or ansible_host)",
};

const KEYWORD_NAMES: Record<string, string> = {
  hostname: "HostName",
  port: "Port",
  user: "User",
  proxyjump: "ProxyJump",
  proxycommand: "ProxyCommand",
  identityfile: "IdentityFile",
  certificatefile: "CertificateFile",
  userknownhostsfile: "UserKnownHostsFile",
  stricthostkeychecking: "StrictHostKeyChecking",
  connecttimeout: "ConnectTimeout",
  canonicalizehostname: "CanonicalizeHostname",
  hashknownhosts: "HashKnownHosts",
  globalknownhostsfile: "GlobalKnownHostsFile",
  hostkeyalias: "HostKeyAlias",
  checkhostip: "CheckHostIP",
  knownhostscommand: "KnownHostsCommand",
  revokedhostkeys: "RevokedHostKeys",
  ignoreunknown: "IgnoreUnknown",
};

const STRICT_VALUES = new Set(["yes", "no", "true", "false", "ask", "off", "accept-new"]);
const FLAG_VALUES = new Set(["yes", "no", "true", "false"]);
const CANONICALIZE_VALUES = new Set(["yes", "no", "true", "false", "always"]);

/** HostName's tokens as ssh expands them before connecting: only %h and %%. */
function expandHostName(raw: string, host: string, label: string, at: Origin | undefined): string {
  return raw.replace(/%(.?)/g, (whole, c: string) => {
    if (c === "%") return "%";
    if (c === "h") return host;
    const where = at ? `${at.file}:${at.line}: ` : "";
    throw new TransportConfigError(label, `${where}HostName ${JSON.stringify(raw)} uses the token ${whole || "%"}, which ssh does not expand there (only %h and %%)`);
  });
}

function finalHostName(name: string): string {
  return isIP(name) ? name : name.toLowerCase();
}

interface PassOptions {
  final: boolean;
  /** The name Host patterns match: the given name, or in the final pass the resolved one. */
  hostForHostLines: string;
}

class Pass {
  wantFinal = false;
  /**
   * IgnoreUnknown values from blocks postfleet cannot evaluate, seen before any
   * definite one: ssh may have taken any of them (the first that applied wins).
   */
  private readonly maybeIgnoreUnknown: { value: string; why: string }[] = [];

  constructor(
    private readonly input: EvaluationInput,
    private readonly config: ObtainedConfig,
    private readonly pass: PassOptions,
  ) {}

  private get label(): string {
    return this.input.host;
  }

  private fail(at: Origin, message: string): never {
    throw new TransportConfigError(this.label, `${at.file}:${at.line}: ${message}`);
  }

  /** A setting ssh itself follows and postfleet's reader cannot (the openssh transport reaches such a host). */
  private failSshCan(at: Origin, message: string): never {
    const e = new TransportConfigError(this.label, `${at.file}:${at.line}: ${message}`);
    e.opensshCan = true;
    throw e;
  }

  runTopLevel(ref: ConfigFileRef): void {
    const loaded = loadFile(ref.path, ref.checkPermissions ?? false, this.label, undefined);
    if (loaded.kind === "lines") this.runLines(ref.path, loaded.lines, ref.scope, 0, YES, [ref.path]);
  }

  private runLines(file: string, lines: ConfigLine[], scope: ConfigScope, depth: number, gate: Activity, stack: string[]): void {
    let active = gate;
    for (const l of lines) {
      const at = { file, line: l.line };
      if (l.error) this.fail(at, l.error);
      if (!l.known) {
        // The first pass decides: the final pass starts with its IgnoreUnknown already set.
        if (!this.pass.final) this.unknownKeyword(l, at);
        continue;
      }
      if (!INTERPRETED.has(l.keyword)) continue;
      switch (l.keyword) {
        case "host":
          active = gate.state === "no" ? NO : both(gate, this.hostLine(l, at) ? YES : NO);
          break;
        case "match": {
          const m = this.matchLine(l, at);
          active = gate.state === "no" ? NO : both(gate, m);
          break;
        }
        case "include":
          for (const arg of l.args) this.include(arg, at, scope, depth, active, stack);
          break;
        default:
          this.setting(l, at, active, scope);
      }
    }
  }

  /**
   * An unknown keyword: ssh refuses the file (wherever the line is, even in a
   * block that does not apply) unless the IgnoreUnknown obtained so far matches it.
   */
  private unknownKeyword(l: ConfigLine, at: Origin): void {
    const definite = this.config.ignoreUnknown?.value;
    const candidates = [...this.maybeIgnoreUnknown.map((m) => m.value), definite];
    const ignored = candidates.map((v) => v !== undefined && matchPatternList(l.keyword, v, true) === 1);
    if (ignored.every(Boolean)) return;
    if (ignored.some(Boolean)) {
      const why = this.maybeIgnoreUnknown.map((m) => m.why).join(", ");
      this.failSshCan(
        at,
        `unknown keyword ${JSON.stringify(l.written)}: whether ssh ignores it depends on an IgnoreUnknown in a block postfleet cannot evaluate (${why}); ` +
          "set IgnoreUnknown outside that block, or remove the line",
      );
    }
    // A keyword of a later OpenSSH or of Apple's ssh: the operator's own ssh, which reads this same
    // file, may well be that one, and postfleet interprets none of them. Refusing would make them edit
    // a file their ssh accepts; ssh 9.2 alone would refuse it.
    if (sshConfigKeywordElsewhere(l.keyword)) return;
    const near = closestSshConfigKeyword(l.keyword);
    this.fail(
      at,
      `unknown keyword ${JSON.stringify(l.written)}${near ? ` (did you mean ${near}?)` : ""}: ssh refuses the file too ` +
        '("Bad configuration option"); fix it, or list it in an IgnoreUnknown line before it',
    );
  }

  private hostLine(l: ConfigLine, at: Origin): boolean {
    let matched = false;
    for (const raw of l.args) {
      if (raw === "") this.fail(at, "Host has an empty pattern");
      const negated = raw.startsWith("!");
      const pattern = negated ? raw.slice(1) : raw;
      if (matchPattern(this.pass.hostForHostLines, pattern)) {
        if (negated) return false;
        matched = true;
      }
    }
    return matched;
  }

  /** The host name Match host sees: HostName obtained so far with %h expanded, else the given name. */
  private matchHost(): string {
    const h = this.config.hostname;
    if (this.pass.final) return h!.value;
    return h ? expandHostName(h.value, this.input.host, this.label, h.at) : this.input.host;
  }

  private matchLine(l: ConfigLine, at: Origin): Activity {
    const d = new Delim(l.rest);
    let result: Activity = YES;
    let attributes = 0;
    const fails = () => {
      result = NO;
    };
    for (;;) {
      const original = d.next();
      if (d.unmatchedQuote) this.fail(at, "invalid quotes in Match");
      if (original === null || original === "" || original.startsWith("#")) break;
      const negate = original.startsWith("!");
      const name = (negate ? original.slice(1) : original).toLowerCase();
      if (name === "all") {
        const after = d.next();
        if (attributes > 1 || (after !== null && after !== "" && !after.startsWith("#"))) {
          this.fail(at, `'${original}' cannot be combined with other Match attributes`);
        }
        if (negate) result = NO;
        return result;
      }
      attributes++;
      if (name === "final" || name === "canonical") {
        // With canonicalization off (postfleet refuses it), both hold exactly in the final pass.
        if (name === "final") this.wantFinal = true;
        if (this.pass.final === negate) fails();
        continue;
      }
      const arg = d.next();
      if (arg === null || arg === "" || arg.startsWith("#")) this.fail(at, `missing Match criteria for ${original}`);
      let matched: boolean;
      switch (name) {
        case "host":
          matched = matchHostname(this.matchHost(), arg);
          break;
        case "originalhost":
          matched = matchHostname(this.input.host, arg);
          break;
        case "user":
          matched = matchPatternList(this.remoteUser(), arg, false) === 1;
          break;
        case "localuser":
          matched = matchPatternList(this.input.localUser, arg, false) === 1;
          break;
        default:
          if (!UNEVALUABLE_CRITERIA.has(name)) this.fail(at, `unsupported Match attribute ${original}`);
          if (result.state === "yes") result = { state: "maybe", why: `${at.file}:${at.line}: Match ${name}` };
          continue;
      }
      if (matched === negate) fails();
    }
    if (attributes === 0) this.fail(at, "Match needs one or more attributes");
    return result;
  }

  private remoteUser(): string {
    return this.input.preset?.user ?? this.config.user?.value ?? this.input.localUser;
  }

  private include(arg: string, at: Origin, scope: ConfigScope, depth: number, active: Activity, stack: string[]): void {
    const { home, localUser } = this.input;
    if (arg.startsWith("~") && scope === "system") this.fail(at, `bad include path ${arg} (~ is not allowed in the system ssh config)`);
    const anchored = arg.startsWith("/") || arg.startsWith("~") ? arg : `${scope === "user" ? "~/.ssh" : "/etc/ssh"}/${arg}`;
    for (const path of globPaths(expandGlobTilde(anchored, home, localUser))) {
      if (stack.includes(path)) this.fail(at, `Include of ${path} loops (it includes itself); ssh stops at ${MAX_INCLUDE_DEPTH} levels`);
      if (depth + 1 > MAX_INCLUDE_DEPTH) this.fail(at, `Include of ${path} is nested more than ${MAX_INCLUDE_DEPTH} levels deep`);
      const loaded = loadFile(path, true, this.label, at);
      if (loaded.kind === "lines") this.runLines(path, loaded.lines, scope, depth + 1, active, [...stack, path]);
    }
  }

  /** Would this keyword's value change the result if the block applied? (First value wins; the inventory's win over all.) */
  private wouldTakeEffect(keyword: string, l: ConfigLine): boolean {
    const c = this.config;
    const p = this.input.preset ?? {};
    switch (keyword) {
      case "hostname":
        return !c.hostname;
      case "user":
        return p.user === undefined && !c.user;
      case "port":
        return !p.port && !c.port;
      case "identityfile":
        return !p.identityFiles;
      case "proxyjump":
      case "proxycommand":
        return !p.proxyJump && !c.proxy;
      case "connecttimeout":
        return !p.connectTimeout && !c.connectTimeout && l.args[0] !== "none";
      case "userknownhostsfile":
        return !c.userKnownHostsFiles;
      case "globalknownhostsfile":
        return !c.globalKnownHostsFiles;
      case "hostkeyalias":
        return !c.hostKeyAlias;
      case "checkhostip":
        return !c.checkHostIp && ["yes", "true"].includes(l.args[0]?.toLowerCase() ?? "");
      case "knownhostscommand":
        return !c.knownHostsCommand && l.rest.toLowerCase() !== "none";
      case "revokedhostkeys":
        return !c.revokedHostKeys && l.args[0]?.toLowerCase() !== "none";
      case "stricthostkeychecking":
        return !c.strictHostKeyChecking;
      case "canonicalizehostname":
        return !c.canonicalizeHostname && !["no", "false"].includes(l.args[0]?.toLowerCase() ?? "");
      default:
        return false; // HashKnownHosts: how new entries are written, not where the connection goes
    }
  }

  private setting(l: ConfigLine, at: Origin, active: Activity, scope: ConfigScope): void {
    const k = l.keyword;
    const name = KEYWORD_NAMES[k] ?? k;
    const single = (): string => {
      if (l.args.length !== 1 || l.args[0] === "") {
        this.fail(at, l.args.length > 1 ? `${name} takes one value (extra arguments at end of line)` : `${name} needs a value`);
      }
      return l.args[0]!;
    };
    if (k === "ignoreunknown") {
      // A string option: first value wins, only where the block applies.
      const patterns = single();
      if (active.state === "yes") this.config.ignoreUnknown ??= { value: patterns, at };
      else if (active.state === "maybe" && !this.config.ignoreUnknown) this.maybeIgnoreUnknown.push({ value: patterns, why: active.why });
      return;
    }
    // Validate as OpenSSH does even in blocks that do not apply (ssh refuses the file either way).
    let value: string | undefined;
    /** Why a ProxyJump ssh accepts cannot be used, refused only where it applies. */
    let unusable: string | undefined;
    switch (k) {
      case "hostname":
      case "user":
      case "identityfile":
      case "certificatefile":
      case "hostkeyalias":
      case "revokedhostkeys":
        value = single();
        break;
      case "checkhostip":
        value = single().toLowerCase();
        if (!FLAG_VALUES.has(value)) this.fail(at, `invalid CheckHostIP ${JSON.stringify(value)}`);
        break;
      case "knownhostscommand":
        // A command: ssh takes the raw rest of the line, as for ProxyCommand.
        value = l.rest;
        break;
      case "port":
        value = single();
        if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) this.fail(at, `invalid Port ${JSON.stringify(value)} for ${this.label}`);
        break;
      case "connecttimeout":
        value = single();
        if (value !== "none" && parseTimeSpec(value) < 0) this.fail(at, `invalid ConnectTimeout ${JSON.stringify(value)}`);
        break;
      case "proxyjump": {
        // ssh reads the raw rest of the line (not its arguments) and checks every hop, even in blocks that do not apply.
        const jump = readProxyJump(l.rest);
        if (!jump.ok) this.fail(at, jump.reason);
        value = jump.spec;
        unusable = jump.unusable;
        break;
      }
      case "stricthostkeychecking":
        value = single().toLowerCase();
        if (!STRICT_VALUES.has(value)) this.fail(at, `invalid StrictHostKeyChecking ${JSON.stringify(value)}`);
        break;
      case "hashknownhosts":
        value = single().toLowerCase();
        if (!FLAG_VALUES.has(value)) this.fail(at, `invalid HashKnownHosts ${JSON.stringify(value)}`);
        break;
      case "canonicalizehostname":
        value = single().toLowerCase();
        if (!CANONICALIZE_VALUES.has(value)) this.fail(at, `invalid CanonicalizeHostname ${JSON.stringify(value)}`);
        break;
      case "userknownhostsfile":
      case "globalknownhostsfile":
        if (l.args.some((a) => a === "")) this.fail(at, `${name} has an empty argument`);
        if (l.args.some((a) => a.toLowerCase() === "none") && l.args.length > 1) this.fail(at, `${name} "none" must appear alone`);
        break;
    }
    if (active.state === "no") return;
    if (active.state === "maybe") {
      if (this.wouldTakeEffect(k, l)) {
        this.failSshCan(
          at,
          `${name} is set in a block postfleet cannot evaluate (${active.why}), which may apply to ${this.label}; ` +
            `set it in a Host block or as ${INSTEAD[k] ?? "an inventory variable"} instead`,
        );
      }
      return;
    }
    const c = this.config;
    const p = this.input.preset ?? {};
    switch (k) {
      case "hostname":
        c.hostname ??= { value: value!, at };
        break;
      case "user":
        c.user ??= { value: value!, at };
        break;
      case "port":
        c.port ??= { value: Number(value), at };
        break;
      case "identityfile": {
        // OpenSSH drops a path already listed from a file of the same kind (user or system).
        if (!c.identityFiles.some((f) => f.scope === scope && f.value === value)) c.identityFiles.push({ value: value!, at, scope });
        break;
      }
      case "certificatefile":
        if (!c.certificateFiles?.some((f) => f.value === value)) (c.certificateFiles ??= []).push({ value: value!, at });
        break;
      case "connecttimeout":
        if (!c.connectTimeout && value !== "none") c.connectTimeout = { value: parseTimeSpec(value!), at };
        break;
      case "userknownhostsfile":
        c.userKnownHostsFiles ??= { value: l.args, at };
        break;
      case "globalknownhostsfile":
        c.globalKnownHostsFiles ??= { value: l.args, at };
        break;
      case "hostkeyalias":
        c.hostKeyAlias ??= { value: value!, at };
        break;
      case "checkhostip":
        c.checkHostIp ??= { value: value === "yes" || value === "true", at };
        break;
      case "knownhostscommand":
      case "revokedhostkeys": {
        // First value wins; "none" (any case) is ssh's way of saying there is none.
        const slot = k === "knownhostscommand" ? "knownHostsCommand" : "revokedHostKeys";
        if (c[slot]) break;
        if (value!.toLowerCase() !== "none") {
          this.failSshCan(
            at,
            k === "knownhostscommand"
              ? `KnownHostsCommand applies to ${this.label}, but postfleet cannot run it, and ssh may refuse a key postfleet ` +
                  "would accept (the command can vouch for another key); put the keys it gives in a known_hosts file " +
                  "(UserKnownHostsFile or GlobalKnownHostsFile) and set KnownHostsCommand none for this host before this line"
              : `RevokedHostKeys applies to ${this.label}, but postfleet cannot read revocation lists, and ssh refuses the keys ` +
                  "it lists; mark them @revoked in known_hosts instead and set RevokedHostKeys none for this host before this line",
          );
        }
        c[slot] = { value: value!, at };
        break;
      }
      case "stricthostkeychecking":
        c.strictHostKeyChecking ??= { value: value!, at };
        break;
      case "hashknownhosts":
        c.hashKnownHosts ??= { value: value === "yes" || value === "true", at };
        break;
      case "canonicalizehostname":
        if (c.canonicalizeHostname) break;
        if (value !== "no" && value !== "false") {
          this.failSshCan(
            at,
            `CanonicalizeHostname ${value} applies to ${this.label}, but postfleet does not canonicalize host names; ` +
              `give the full name instead (${INSTEAD.canonicalizehostname}) and set CanonicalizeHostname no for it`,
          );
        }
        c.canonicalizeHostname = { value: value!, at };
        break;
      case "proxyjump": {
        if (p.proxyJump || c.proxy) break;
        if (unusable) this.fail(at, unusable);
        c.proxy = { value: { kind: "jump", spec: value! }, at };
        break;
      }
      case "proxycommand": {
        if (p.proxyJump || c.proxy) break;
        const spec = l.rest;
        if (spec.toLowerCase() !== "none") {
          this.failSshCan(
            at,
            `ProxyCommand applies to ${this.label}, but postfleet cannot run a ProxyCommand; ` +
              `use ProxyJump (in a Host block, or ${INSTEAD.proxyjump}) or set ProxyCommand none for this host before this line`,
          );
        }
        c.proxy = { value: { kind: "command", spec: "none" }, at };
        break;
      }
    }
  }
}

/** Evaluate the config files for one host as `ssh` would (two passes when a `Match final` asks). */
export function evaluateSshConfig(input: EvaluationInput): Evaluation {
  const config: ObtainedConfig = { identityFiles: [] };
  const first = new Pass(input, config, { final: false, hostForHostLines: input.host });
  for (const f of input.files) first.runTopLevel(f);
  const expanded = config.hostname ? expandHostName(config.hostname.value, input.host, input.host, config.hostname.at) : input.host;
  const hostname = finalHostName(expanded);
  if (!first.wantFinal) return { config, hostname, finalPass: false };
  // ssh fixes the hostname before the final pass: HostName lines there change nothing.
  config.hostname = { value: hostname, at: config.hostname?.at ?? { file: "(given)", line: 0 } };
  const second = new Pass(input, config, { final: true, hostForHostLines: hostname });
  for (const f of input.files) second.runTopLevel(f);
  return { config, hostname, finalPass: true };
}
