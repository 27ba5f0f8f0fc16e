// OpenSSH known_hosts: parsing, lookup and host key verification.
// Format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): [@marker] patterns keytype
// base64-key [comment]. Patterns are comma lists of names with `*`/`?`
// wildcards and `!` negation, `[host]:port` for ports other than 22, or one
// hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { HostKeyError } from "./errors.js";
import { checkHostCertificate, isCertificateType, type KeySource } from "./ssh-cert.js";
import type { HostKeyChecking } from "../shared/connection-target.js";

export type KnownHostsMarker = "revoked" | "cert-authority" | null;

export interface KnownHostsEntry {
  file: string;
  /** 1-based line number. */
  line: number;
  marker: KnownHostsMarker;
  /** Hashed entry: salt and HMAC; else the comma-separated patterns. */
  hashed: { salt: Buffer; hash: Buffer } | null;
  patterns: string[];
  keyType: string;
  /** Raw key blob (base64-decoded). */
  key: Buffer;
}

export interface KnownHostsProblem {
  file: string;
  line: number;
  message: string;
}

export interface ParsedKnownHosts {
  entries: KnownHostsEntry[];
  /** Lines that could not be parsed (OpenSSH skips them too). */
  problems: KnownHostsProblem[];
}

/** The name OpenSSH looks up: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The name a hop's key is looked up and recorded under: its HostKeyAlias as is (no port: ssh adds none), else knownHostsName. */
export function knownHostsLookupName(host: string, port: number, hostKeyAlias?: string): string {
  return hostKeyAlias ?? knownHostsName(host, port);
}

/** Characters ssh never writes into a known_hosts file (sshconnect.c check_host_key): such a host's new key is not added. */
const UNRECORDABLE = /[@?*#[\]|'"\\]/;

/** OpenSSH's fingerprint: "SHA256:" + unpadded base64 of sha256(key blob). */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** The key type encoded in an SSH wire-format public key blob. */
export function keyTypeOfBlob(key: Buffer): string {
  if (key.length < 4) return "unknown";
  const len = key.readUInt32BE(0);
  return len > 0 && len + 4 <= key.length ? key.subarray(4, 4 + len).toString("latin1") : "unknown";
}

export function parseKnownHosts(text: string, file: string): ParsedKnownHosts {
  const entries: KnownHostsEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostsMarker = null;
    if (fields[0]?.startsWith("@")) {
      const m = fields.shift()!;
      if (m === "@revoked") marker = "revoked";
      else if (m === "@cert-authority") marker = "cert-authority";
      else return problems.push({ file, line, message: `unknown marker ${m}` });
    }
    const [names, keyType, blob] = fields;
    if (!names || !keyType || !blob) return problems.push({ file, line, message: "expected: hostnames keytype key" });
    const key = Buffer.from(blob, "base64");
    if (key.length === 0 || keyTypeOfBlob(key) !== keyType) {
      return problems.push({ file, line, message: `key is not a valid ${keyType} public key` });
    }
    let hashed: KnownHostsEntry["hashed"] = null;
    if (names.startsWith("|")) {
      const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(names);
      if (!m) return problems.push({ file, line, message: "malformed hashed host name (expected |1|salt|hash)" });
      hashed = { salt: Buffer.from(m[1]!, "base64"), hash: Buffer.from(m[2]!, "base64") };
    }
    entries.push({ file, line, marker, hashed, patterns: hashed ? [] : names.split(","), keyType, key });
  });
  return { entries, problems };
}

/** Glob match as OpenSSH's match_pattern: `*` any run, `?` one character, case-insensitive. */
function globMatch(name: string, pattern: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(name);
}

/** Does this entry's host field name `lookup` (already in `[host]:port` form)? */
export function entryMatches(entry: KnownHostsEntry, lookup: string): boolean {
  if (entry.hashed) {
    const mac = createHmac("sha1", entry.hashed.salt).update(lookup).digest();
    return mac.length === entry.hashed.hash.length && mac.equals(entry.hashed.hash);
  }
  let positive = false;
  for (const p of entry.patterns) {
    if (p.startsWith("!")) {
      if (globMatch(lookup, p.slice(1))) return false; // a negated match wins over everything
    } else if (globMatch(lookup, p)) positive = true;
  }
  return positive;
}

/** A hashed host field for `name`, as `ssh-keygen -H` writes it. */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac("sha1", salt).update(name).digest();
  return `|1|${salt.toString("base64")}|${mac.toString("base64")}`;
}

export type VerifyOutcome =
  | { status: "ok"; entry: KnownHostsEntry }
  | { status: "added"; file: string; line: string }
  | { status: "accepted-unverified"; warning: string; key: UnverifiedHostKey };

/** A host key accepted without verification (host key checking off): why it did not verify. */
export interface UnverifiedHostKey {
  /** "changed": known_hosts holds another key for the host; "unknown": none. */
  presented: "changed" | "unknown";
  keyType: string;
  fingerprint: string;
}

export interface VerifyRequest {
  /** Inventory name, for messages. */
  hostLabel: string;
  /** Host name/address actually connected to (after ssh_config HostName). */
  host: string;
  port: number;
  /** ssh_config HostKeyAlias: looked up and recorded under this name instead of host and port. */
  hostKeyAlias?: string | undefined;
  key: Buffer;
  /**
   * The file new keys go to (the first UserKnownHostsFile); undefined when there is none
   * (UserKnownHostsFile none): then, as in ssh, a key not already known is refused whatever `checking` says.
   */
  file: string | undefined;
  checking: HostKeyChecking;
  /** Extra read-only files (the other UserKnownHostsFiles, GlobalKnownHostsFile), consulted but never written. */
  globalFiles?: string[];
  /** accept-new writes the host name hashed (ssh_config HashKnownHosts yes). */
  hashNew?: boolean;
}

/**
 * A known_hosts file parsed once per content (inode, size, mtime) and indexed: entries whose
 * patterns are all plain names, by each name (lower case, as matching ignores case); the rest
 * (wildcards, negations, hashed names) in `scan`, tried one by one. Every host of a run looks
 * its name up in the same files: without this, each lookup re-read and matched the whole file,
 * n² work for a fleet of n hosts.
 */
interface IndexedFile {
  stamp: string;
  byName: Map<string, KnownHostsEntry[]>;
  scan: KnownHostsEntry[];
  /** Lookups already answered (a host is looked up to order key types, then to verify). */
  answered: Map<string, KnownHostsEntry[]>;
}
const indexedFiles = new Map<string, IndexedFile>();

/** Work done by lookups, for tests: files parsed, entries matched against a name. */
export const knownHostsWork = { parses: 0, matched: 0 };

function indexedFile(file: string): IndexedFile | null {
  let stamp: string;
  try {
    const st = statSync(file);
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
  const cached = indexedFiles.get(file);
  if (cached?.stamp === stamp) return cached;
  knownHostsWork.parses++;
  const ix: IndexedFile = { stamp, byName: new Map(), scan: [], answered: new Map() };
  for (const e of parseKnownHosts(readFileSync(file, "utf8"), file).entries) {
    if (e.hashed || e.patterns.some((p) => /[*?!]/.test(p))) ix.scan.push(e);
    else for (const name of new Set(e.patterns.map((p) => p.toLowerCase()))) (ix.byName.get(name) ?? ix.byName.set(name, []).get(name)!).push(e);
  }
  indexedFiles.set(file, ix);
  return ix;
}

/** The entries of `file` that name `lookup`, in file order. */
function matchingEntries(file: string, lookup: string): KnownHostsEntry[] {
  const ix = indexedFile(file);
  if (!ix) return [];
  const known = ix.answered.get(lookup);
  if (known) return known;
  // An entry under the name is a match (its patterns are plain names, none negated); the rest are tried
  // (a hashed entry costs an HMAC with its own salt: with many of them this is what a lookup costs).
  const named = ix.byName.get(lookup.toLowerCase()) ?? [];
  knownHostsWork.matched += named.length + ix.scan.length;
  const found = [...named, ...ix.scan.filter((e) => entryMatches(e, lookup))].sort((a, b) => a.line - b.line);
  ix.answered.set(lookup, found);
  return found;
}

/** Key types known under `lookup` (knownHostsLookupName), so the SSH negotiation can prefer them (as OpenSSH does). */
export function knownKeyTypes(lookup: string, files: string[]): string[] {
  const types = new Set<string>();
  for (const f of files) for (const e of matchingEntries(f, lookup)) if (e.marker === null) types.add(e.keyType);
  return [...types];
}

/** The first `@cert-authority` line naming `lookup` when no plain line does: a host only a certificate can vouch for. */
export function certificateOnlyVouching(lookup: string, files: string[]): KnownHostsEntry | undefined {
  let ca: KnownHostsEntry | undefined;
  for (const f of files) {
    for (const e of matchingEntries(f, lookup)) {
      if (e.marker === null) return undefined;
      if (e.marker === "cert-authority") ca ??= e;
    }
  }
  return ca;
}

/**
 * Check the key a server presented. Throws HostKeyError when refused; in
 * `accept-new` appends an entry for a host not yet known: plain (OpenSSH's
 * HashKnownHosts default) unless `hashNew`.
 */
export function verifyHostKey(req: VerifyRequest): VerifyOutcome {
  const lookup = knownHostsLookupName(req.host, req.port, req.hostKeyAlias);
  const presentedType = keyTypeOfBlob(req.key);
  const fp = fingerprintSha256(req.key);
  const files = [...(req.file === undefined ? [] : [req.file]), ...(req.globalFiles ?? [])];
  const searched = files.length > 0 ? files.join(", ") : "no known_hosts file (UserKnownHostsFile and GlobalKnownHostsFile none)";
  const matching = files.flatMap((f) => matchingEntries(f, lookup));
  if (isCertificateType(presentedType)) return verifyHostCertificate(req, lookup, matching);

  const revoked = matching.find((e) => e.marker === "revoked" && e.key.equals(req.key));
  // Revoked keys are refused even with checking off, as OpenSSH does.
  if (revoked) {
    throw new HostKeyError(
      req.hostLabel,
      `host key for ${lookup} (${presentedType} ${fp}) is marked @revoked in ${revoked.file}:${revoked.line}; refusing to connect`,
      "revoked",
    );
  }
  const plain = matching.filter((e) => e.marker === null);
  const same = plain.find((e) => e.key.equals(req.key));
  if (same) return { status: "ok", entry: same };
  // Nothing recorded under [host]:port: ssh also accepts the same key recorded under the bare host name
  // (sshconnect.c, "checking without port identifier"); another key there does not count.
  if (plain.length === 0 && req.hostKeyAlias === undefined && req.port !== 22) {
    const underBareName = files.flatMap((f) => matchingEntries(f, req.host)).filter((e) => e.key.equals(req.key));
    const bare = underBareName.find((e) => e.marker === null);
    if (bare && !underBareName.some((e) => e.marker === "revoked")) return { status: "ok", entry: bare };
  }

  // ssh adds no key where it has no file to add it to, or for a host name it will not write; a key it cannot add
  // it refuses, whatever StrictHostKeyChecking says (sshconnect.c: a new host on a read-only lookup fails).
  if (plain.length === 0 && (req.file === undefined || UNRECORDABLE.test(req.host))) {
    throw new HostKeyError(
      req.hostLabel,
      `host key for ${lookup} (${presentedType} ${fp}) is not known in ${searched}, and ssh would not add it ` +
        (req.file === undefined ? "(UserKnownHostsFile none)" : `(the host name ${JSON.stringify(req.host)} cannot be written to known_hosts)`) +
        `, so it refuses the host whatever StrictHostKeyChecking says; refusing too. Check the fingerprint with the host's ` +
        `administrator, then add it under the name ${lookup} to a known_hosts file that is read for this host.`,
      "unknown",
    );
  }

  if (req.checking === "off") {
    const what = plain.length > 0 ? "DOES NOT MATCH the known key" : "is not known";
    return {
      status: "accepted-unverified",
      warning: `host key for ${lookup} (${presentedType} ${fp}) ${what}; accepted because host key checking is off`,
      key: { presented: plain.length > 0 ? "changed" : "unknown", keyType: presentedType, fingerprint: fp },
    };
  }

  if (plain.length > 0) {
    const old = plain[0]!;
    throw new HostKeyError(
      req.hostLabel,
      `host key for ${lookup} has CHANGED: it presented ${presentedType} ${fp}, but ${old.file}:${old.line} ` +
        `holds ${old.keyType} ${fingerprintSha256(old.key)}. Someone could be intercepting the connection, ` +
        `or the host was reinstalled. If you are sure the new key is right, remove the old entry ` +
        `(ssh-keygen -R '${lookup}' -f ${old.file}, or delete line ${old.line}) and connect again with ` +
        `postfleet_host_key_checking=accept-new.`,
      "changed",
    );
  }

  const ca = matching.find((e) => e.marker === "cert-authority");
  if (ca && !certificateSetAside.has(req)) {
    throw new HostKeyError(
      req.hostLabel,
      `${ca.file}:${ca.line}: only an @cert-authority line vouches for ${lookup}, and postfleet's SSH library (ssh2) cannot ` +
        `negotiate certificate host keys (*-cert-v01@openssh.com), so the host showed its plain key (${presentedType} ${fp}), ` +
        `which no known_hosts line lists; add the host's own key for ${lookup} to ${req.file ?? "a known_hosts file"}, ` +
        `or use the openssh transport, which checks the certificate (ssh2 was set for this host: postfleet_transport or --transport ` +
        `auto, the default, chooses openssh for such a host)`,
      "unsupported",
    );
  }

  if (req.checking === "accept-new" && req.file !== undefined) {
    const name = req.hashNew ? hashHostName(lookup) : lookup;
    const line = `${name} ${presentedType} ${req.key.toString("base64")}\n`;
    mkdirSync(dirname(req.file), { recursive: true, mode: 0o700 });
    // O_APPEND: concurrent hosts adding their lines do not overwrite each other. A file whose
    // last line lacks its newline would run the old entry and ours together: end it first.
    appendFileSync(req.file, (endsWithoutNewline(req.file) ? "\n" : "") + line, { mode: 0o600 });
    return { status: "added", file: req.file, line: line.trimEnd() };
  }

  throw new HostKeyError(
    req.hostLabel,
    `host key for ${lookup} is not known in ${searched} (presented ${presentedType} ${fp}); refusing with strict ` +
      `host key checking. Check the fingerprint with the host's administrator, then add it ` +
      (req.hostKeyAlias === undefined
        ? `(ssh-keyscan -p ${req.port} ${req.host} >> ${req.file})`
        : `under the name ${lookup} (its HostKeyAlias) to ${req.file}`) +
      ` or connect once with postfleet_host_key_checking=accept-new.`,
    "unknown",
  );
}

/** Requests for the plain key of a certificate that did not count: the refusal is about the certificate, not about @cert-authority support. */
const certificateSetAside = new WeakSet<VerifyRequest>();

const where = (e: KnownHostsEntry): KeySource => ({ key: e.key, where: `${e.file}:${e.line}` });

/**
 * A host certificate, checked as ssh checks it (sshconnect.c check_host_key): trusted when an
 * @cert-authority line for the host lists its CA and the certificate passes the rules of
 * checkHostCertificate; refused when it or its CA is @revoked; otherwise, as ssh does, the
 * certificate is set aside and its plain key checked against the known keys (so accept-new may
 * add it), and a refusal then says why the certificate did not count.
 */
function verifyHostCertificate(req: VerifyRequest, lookup: string, matching: KnownHostsEntry[]): VerifyOutcome {
  const authorities = matching.filter((e) => e.marker === "cert-authority");
  const v = checkHostCertificate({
    blob: req.key,
    principal: req.hostKeyAlias ?? req.host,
    authorities: authorities.map(where),
    revoked: matching.filter((e) => e.marker === "revoked").map(where),
  });
  const fp = fingerprintSha256(req.key);
  if (v.ok) return { status: "ok", entry: authorities.find((e) => `${e.file}:${e.line}` === v.ca.where)! };
  const refused = `host certificate for ${lookup} (${keyTypeOfBlob(req.key)} ${fp}) refused: ${v.message}`;
  if (v.reason === "revoked" || !v.cert) {
    throw new HostKeyError(req.hostLabel, `${refused}; refusing to connect`, v.reason === "revoked" ? "revoked" : "unknown");
  }
  const plain = { ...req, key: v.cert.publicKey };
  certificateSetAside.add(plain);
  try {
    return verifyHostKey(plain);
  } catch (e) {
    if (e instanceof HostKeyError) throw new HostKeyError(req.hostLabel, `${refused}; and its plain key: ${e.message}`, e.reason);
    throw e;
  }
}

/** True when the file exists, is not empty and its last byte is not a newline. */
function endsWithoutNewline(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}
