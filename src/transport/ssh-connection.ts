// Over 400 lines: one class, Ssh2Connection, and the hop-by-hop connect it drives (jump hosts share one ssh2 client each).
// One SSH connection per host (through jump hosts when asked), with host key
// verification, key/agent authentication and classified errors.
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { Client, type AnyAuthMethod, type AuthenticationType, type ClientChannel, type ConnectConfig } from "ssh2";
import { AgentProcessError, AuthError, HostKeyError, TransportConfigError, TransportError, UnreachableError } from "./errors.js";
import { KeyStore, defaultKeyFiles, type PassphraseSource } from "./private-keys.js";
import { fingerprintSha256, knownHostsLookupName, knownKeyTypes, verifyHostKey, type UnverifiedHostKey } from "./known-hosts.js";
import { resolveTarget, type HopSettings, type SshConfigOptions } from "./ssh-config/resolve.js";
import { jumpChain } from "./jump-chain.js";
import { DEFAULT_CA_SIGNATURE_ALGORITHMS } from "./ssh-cert.js";
import type { ConnectionTarget, HostKeyChecking } from "../shared/connection-target.js";

export interface ConnectionOptions {
  /** ssh_config files and local identity (tests point these elsewhere). */
  sshConfig?: SshConfigOptions;
  /** Default when the target sets none: ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** Read-only system-wide known_hosts files where ssh_config sets no GlobalKnownHostsFile; default ssh's, /etc/ssh/ssh_known_hosts and ssh_known_hosts2. */
  globalKnownHostsFiles?: string[];
  /** Default when the target sets none: "strict". */
  hostKeyChecking?: HostKeyChecking;
  /** Default when neither target nor ssh_config set one: 10 s (Ansible's default timeout). */
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** ssh-agent socket; default $SSH_AUTH_SOCK; null disables the agent. */
  agentSocket?: string | null;
  /** Try ~/.ssh/id_ed25519, id_ecdsa, id_rsa when no key file is configured (default true). */
  defaultKeys?: boolean;
  passphrase?: PassphraseSource;
  /** Shared by all hosts of a run so each key is decrypted once. */
  keyStore?: KeyStore;
  /** Non-fatal notices (accept-new additions, checking off, skipped keys). */
  warn?: (msg: string) => void;
  /**
   * Share one connection per jump host among the targets behind it (default
   * true): 50 hosts behind one bastion would otherwise open 50 connections
   * there at once, beyond sshd's MaxStartups.
   */
  shareJumpHosts?: boolean;
}

/** A jump host connection in use by one target; released when the target's connection closes. */
interface JumpLease {
  client: Client;
  release(): void;
}

interface SharedJump {
  client: Promise<Client>;
  refs: number;
}

const sharedJumps = new Map<string, SharedJump>();

async function acquireJump(key: string, share: boolean, create: () => Promise<Client>): Promise<JumpLease> {
  if (!share) {
    const c = await create();
    return { client: c, release: () => c.end() };
  }
  let entry = sharedJumps.get(key);
  if (!entry) {
    const created: SharedJump = { client: create(), refs: 0 };
    const forget = () => {
      if (sharedJumps.get(key) === created) sharedJumps.delete(key);
    };
    created.client.then((c) => c.once("close", forget), forget);
    sharedJumps.set(key, created);
    entry = created;
  }
  const e = entry;
  e.refs++;
  let client: Client;
  try {
    client = await e.client;
  } catch (err) {
    e.refs--;
    throw err;
  }
  let released = false;
  return {
    client,
    release: () => {
      if (released) return;
      released = true;
      if (--e.refs === 0) {
        if (sharedJumps.get(key) === e) sharedJumps.delete(key);
        client.end();
      }
    },
  };
}

/** OpenSSH's modern signature algorithms (those it accepts from a CA), then the legacy ssh-rsa a plain host key may still use. */
const HOST_KEY_ALGORITHMS = [...DEFAULT_CA_SIGNATURE_ALGORITHMS, "ssh-rsa"];

/** Algorithms for the key types already known for this host first, so a known key is what we get. */
function hostKeyAlgorithms(knownTypes: string[]): string[] {
  const preferred = knownTypes.flatMap((t) => (t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t]));
  const first = HOST_KEY_ALGORITHMS.filter((a) => preferred.includes(a));
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

interface Hop {
  /** Name for messages: inventory name for the target, "jump host X" for hops. */
  label: string;
  settings: HopSettings;
  /** Explicit inventory key files, also offered to jump hosts that configure none. */
  fallbackKeys: string[];
}

function describeEndpoint(h: HopSettings): string {
  return `${h.user}@${h.hostname}:${h.port}`;
}

/** Where a connection's set-up time went, in ms (the target's own hop; jump hosts not included). */
export interface ConnectTimings {
  /** TCP connect, SSH version exchange, key exchange and host key check. */
  connectMs: number;
  /** Loading keys and the authentication exchange, up to a usable connection. */
  authMs: number;
}

const connectTimings = new WeakMap<Client, ConnectTimings>();
const unverifiedKeys = new WeakMap<Client, UnverifiedHostKey>();
/** The SHA256 fingerprint of the host key each connection presented (and was accepted). */
const presentedKeys = new WeakMap<Client, string>();

/**
 * One host's connection as the session uses it (exec channels, a stream to a Unix socket, close):
 * ssh2's (Ssh2Connection, below) or the system ssh's (OpenSshConnection, openssh-connection.ts).
 */
export interface HostConnection {
  readonly target: ConnectionTarget;
  /** Where the connection went, as the user, host name and port were resolved. */
  readonly settings: Pick<HopSettings, "hostname" | "port" | "user">;
  readonly isOpen: boolean;
  readonly timings: ConnectTimings;
  /** How long a session channel may take to open: the connect timeout. */
  readonly channelTimeoutMs: number;
  /** Set when the target's key was accepted unverified (host key checking off). */
  readonly unverifiedHostKey: UnverifiedHostKey | undefined;
  /** Who answered: the host key fingerprint of each jump host, outermost first, then the target's. */
  readonly hostIdentity: readonly string[];
  /** False when a resident agent's socket cannot be reached on this connection (openStreamLocal rejects). */
  readonly streamLocal: boolean;
  openChannel<T>(command: string, onOpen: (channel: ClientChannel) => T): Promise<T>;
  openStreamLocal(socketPath: string): Promise<ClientChannel>;
  close(): Promise<void>;
}

export class Ssh2Connection implements HostConnection {
  readonly streamLocal = true;
  private closed = false;
  /** Set by openConnection(). */
  timings: ConnectTimings = { connectMs: 0, authMs: 0 };
  private closeReason: string | undefined;
  /** How long a session channel may take to open: the connect timeout. */
  channelTimeoutMs = 10_000;
  /** Set when the target's key was accepted unverified (host key checking off). */
  unverifiedHostKey: UnverifiedHostKey | undefined;
  /**
   * Who answered: the host key fingerprint of each jump host, outermost first, then the target's.
   * Two inventory hosts at one address and port behind different jump hosts differ here.
   */
  hostIdentity: readonly string[] = [];

  constructor(
    readonly target: ConnectionTarget,
    readonly settings: HopSettings,
    readonly client: Client,
    /** Jump host connections, outermost first; released after the target. */
    private readonly jumps: JumpLease[],
  ) {
    client.on("close", () => {
      this.closed = true;
      this.closeReason ??= "connection closed by the remote side";
    });
    client.on("error", (e: Error) => {
      this.closeReason = e.message;
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Open an exec channel running `command` (a shell command line, already
   * quoted). `onOpen` runs synchronously with the channel's creation, before
   * ssh2 parses any further packet, so no event (exit status!) is missed.
   */
  openChannel<T>(command: string, onOpen: (channel: ClientChannel) => T): Promise<T> {
    if (this.closed) {
      return Promise.reject(new UnreachableError(this.target.name, `connection to ${this.target.name} is closed (${this.closeReason})`));
    }
    return new Promise((resolve, reject) => {
      // A server that accepts the connection but never answers the channel open would hang the
      // host forever (keepalives still pass): bounded by the connect timeout, like every network wait.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(
          new UnreachableError(this.target.name, `timed out after ${this.channelTimeoutMs / 1000} s waiting for ${this.target.name} to open a session`),
        );
      }, this.channelTimeoutMs);
      this.client.exec(command, (err, channel) => {
        clearTimeout(timer);
        if (timedOut) {
          channel?.close();
          return;
        }
        if (err) reject(new UnreachableError(this.target.name, `cannot open a session on ${this.target.name}: ${err.message}`, { cause: err }));
        else resolve(onOpen(channel));
      });
    });
  }

  /**
   * A stream to a Unix socket on the host, through sshd as the login user
   * (OpenSSH's direct-streamlocal), within the connect timeout. Rejects when
   * nothing listens there or the server refuses.
   */
  openStreamLocal(socketPath: string): Promise<ClientChannel> {
    if (this.closed) return Promise.reject(new UnreachableError(this.target.name, `connection to ${this.target.name} is closed (${this.closeReason})`));
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new UnreachableError(this.target.name, `timed out after ${this.channelTimeoutMs / 1000} s opening ${socketPath} on ${this.target.name}`));
      }, this.channelTimeoutMs);
      this.client.openssh_forwardOutStreamLocal(socketPath, (err, channel) => {
        clearTimeout(timer);
        if (timedOut) return void channel?.close();
        if (err) return reject(new AgentProcessError(this.target.name, `cannot reach ${socketPath} on ${this.target.name}: ${err.message}`, { cause: err }));
        // A socket has no exit status: when the far end is done, sshd sends EOF and waits for ours
        // before it closes the channel. Answer it, so that the channel closes (and a request in
        // flight fails) now rather than at its timeout.
        channel.once("end", () => channel.end());
        resolve(channel);
      });
    });
  }

  async close(): Promise<void> {
    if (!this.closed) {
      await new Promise<void>((resolve) => {
        // A peer that never acknowledges the disconnect: drop the socket, so nothing keeps the process alive.
        const t = setTimeout(() => {
          this.client.destroy();
          resolve();
        }, 2000);
        this.client.once("close", () => {
          clearTimeout(t);
          resolve();
        });
        this.client.end();
      });
    }
    this.closed = true;
    for (const j of [...this.jumps].reverse()) j.release();
    this.jumps.length = 0;
  }
}

/** Connect to the target (through its jump hosts), authenticate and verify every host key on the way. */
/** `resolved`: the target's ssh_config settings when the caller already has them (the transport choice). */
export async function openConnection(target: ConnectionTarget, o: ConnectionOptions = {}, resolved?: HopSettings): Promise<Ssh2Connection> {
  const settings = resolved ?? resolveTarget(target, o.sshConfig);
  const hops: Hop[] = [];
  const fallbackKeys = settings.explicitIdentityFiles ? settings.identityFiles : [];
  if (settings.proxyJump) {
    for (const j of jumpChain(settings.proxyJump, target.name, o.sshConfig)) {
      hops.push({ label: `jump host ${j.host}`, settings: j.settings, fallbackKeys });
    }
  }
  hops.push({ label: target.name, settings, fallbackKeys });

  const keyStore = o.keyStore ?? new KeyStore(o.passphrase);
  const knownHostsKey = [target.knownHostsFile, target.hostKeyChecking, fallbackKeys];
  const leases: JumpLease[] = [];
  try {
    // Jump hosts (shared by every target going through the same chain), then the target.
    for (let i = 0; i < hops.length - 1; i++) {
      const hop = hops[i]!;
      const via = leases[i - 1];
      const key = JSON.stringify([hops.slice(0, i + 1).map((h) => describeEndpoint(h.settings)), knownHostsKey]);
      leases.push(
        await acquireJump(key, o.shareJumpHosts !== false, async () => {
          const sock = via ? await forward(via.client, hops[i - 1]!, hop, hop.label, timeoutOf(hop, o)) : undefined;
          return connectHop(hop, target, o, keyStore, sock, true);
        }),
      );
    }
    const last = hops[hops.length - 1]!;
    const via = leases[leases.length - 1];
    const sock = via ? await forward(via.client, hops[hops.length - 2]!, last, target.name, timeoutOf(last, o)) : undefined;
    const client = await connectHop(last, target, o, keyStore, sock, false);
    const conn = new Ssh2Connection(target, settings, client, leases);
    conn.timings = connectTimings.get(client) ?? conn.timings;
    conn.channelTimeoutMs = timeoutOf(last, o);
    conn.unverifiedHostKey = unverifiedKeys.get(client);
    conn.hostIdentity = [...leases.map((l) => presentedKeys.get(l.client) ?? "?"), presentedKeys.get(client) ?? "?"];
    return conn;
  } catch (e) {
    for (const l of leases.reverse()) l.release();
    throw e;
  }
}

/**
 * The known_hosts files of one hop: the inventory's, then the run's, then ssh_config's, then
 * OpenSSH's defaults. New keys go to the first user file (`knownHostsFile`; none: no file), the
 * rest are only read.
 */
export function knownHostsFilesOf(target: ConnectionTarget, s: HopSettings, o: ConnectionOptions): { knownHostsFile: string | undefined; globalFiles: string[] } {
  const home = o.sshConfig?.home ?? homedir();
  const [knownHostsFile, ...moreKnownHosts] = target.knownHostsFile
    ? [target.knownHostsFile]
    : o.knownHostsFile
      ? [o.knownHostsFile]
      : (s.knownHostsFiles ?? [join(home, ".ssh", "known_hosts"), join(home, ".ssh", "known_hosts2")]);
  const globalFiles = [...moreKnownHosts, ...(s.globalKnownHostsFiles ?? o.globalKnownHostsFiles ?? ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"])];
  return { knownHostsFile, globalFiles };
}

/**
 * The host key checking that applies to one hop: the target's own setting
 * (inventory, command line), then the run's, then ssh_config's, then strict.
 * A jump host has no target setting: what an inventory or `--host-key-checking`
 * says of a target never loosens the check of the bastion in front of it.
 */
export function hostKeyCheckingOf(target: ConnectionTarget | undefined, s: HopSettings, o: ConnectionOptions): HostKeyChecking {
  return target?.hostKeyChecking ?? o.hostKeyChecking ?? s.hostKeyChecking ?? "strict";
}

/** The hosts among `targets` whose own key is not verified on this run (checking off), for the run's banner. */
export function hostsWithoutKeyChecking(targets: Iterable<ConnectionTarget>, o: ConnectionOptions = {}): string[] {
  const off: string[] = [];
  for (const t of targets) {
    let settings: HopSettings;
    try {
      settings = resolveTarget(t, o.sshConfig);
    } catch {
      continue; // an ssh_config this host cannot use fails the host itself when it connects
    }
    if (hostKeyCheckingOf(t, settings, o) === "off") off.push(t.name);
  }
  return off;
}

function timeoutOf(hop: Hop, o: ConnectionOptions): number {
  return hop.settings.connectTimeoutMs ?? o.connectTimeoutMs ?? 10_000;
}

/** A TCP stream from `via` to the next hop, within the connect timeout (the jump host's own may be minutes). */
function forward(via: Client, viaHop: Hop, to: Hop, errHost: string, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(
        new UnreachableError(
          errHost,
          `timed out after ${timeoutMs / 1000} s waiting for ${viaHop.label} to reach ${to.settings.hostname}:${to.settings.port}`,
        ),
      );
    }, timeoutMs);
    via.forwardOut("127.0.0.1", 0, to.settings.hostname, to.settings.port, (err, stream) => {
      clearTimeout(timer);
      if (done) {
        stream?.destroy();
        return;
      }
      if (err) {
        reject(
          new UnreachableError(
            errHost,
            `${viaHop.label} (${viaHop.settings.hostname}:${viaHop.settings.port}) cannot reach ` +
              `${to.settings.hostname}:${to.settings.port}: ${err.message}`,
            { cause: err },
          ),
        );
      } else resolve(stream);
    });
  });
}

interface AuthPlan {
  methods: AnyAuthMethod[];
  tried: string[];
  /** KEY-cert.pub files beside the keys offered: ssh would present them, postfleet cannot (see certificateNote). */
  certificates: string[];
}

/**
 * Why a user certificate was not presented: ssh2 1.17 signs a publickey request with the
 * algorithm name it sends, and a certificate's name ("ssh-ed25519-cert-v01@openssh.com") is not
 * the signature's ("ssh-ed25519"), so sshd accepts the certificate's query and refuses the
 * signature (mscdex/ssh2#551).
 */
function certificateNote(certificates: string[]): string {
  if (certificates.length === 0) return "";
  return (
    `; not presented: the user certificate${certificates.length > 1 ? "s" : ""} ${certificates.join(", ")} (ssh would offer ` +
    `${certificates.length > 1 ? "them" : "it"}; postfleet's SSH library, ssh2, cannot sign with a certificate), so authorise the key ` +
    `itself on the host (authorized_keys) for postfleet, or use the openssh transport, which presents it (ssh2 was set for ` +
    `this host: postfleet_transport or --transport auto, the default, chooses openssh where ssh has a certificate to present)`
  );
}

async function authMethods(hop: Hop, target: ConnectionTarget, o: ConnectionOptions, keys: KeyStore): Promise<AuthPlan> {
  const username = hop.settings.user;
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  const certificates: string[] = [];
  const offer = (f: string, key: AnyAuthMethod) => {
    methods.push(key);
    tried.push(`key ${f}`);
    if (existsSync(`${f}-cert.pub`)) certificates.push(`${f}-cert.pub`);
  };
  const explicit = hop.settings.identityFiles.length > 0;
  const files = explicit ? hop.settings.identityFiles : hop.fallbackKeys;
  for (const f of files) {
    // Inventory keys must work; ssh_config keys are skipped when missing, as in OpenSSH.
    const loaded = await keys.load(f, target.name, hop.settings.explicitIdentityFiles);
    if (!loaded) {
      o.warn?.(`${target.name}: identity file ${f} not found, skipped`);
      continue;
    }
    offer(f, { type: "publickey", username, key: loaded.key });
  }
  const agent = o.agentSocket === undefined ? process.env.SSH_AUTH_SOCK : o.agentSocket;
  if (agent) {
    methods.push({ type: "agent", username, agent });
    tried.push("ssh-agent");
  }
  if (files.length === 0 && o.defaultKeys !== false) {
    for (const f of defaultKeyFiles(o.sshConfig?.home)) {
      const loaded = await keys.load(f, target.name, false);
      if (!loaded) continue;
      offer(f, { type: "publickey", username, key: loaded.key });
    }
  }
  // CertificateFile from ssh_config: ssh would offer these too.
  for (const f of hop.settings.certificateFiles ?? []) if (existsSync(f) && !certificates.includes(f)) certificates.push(f);
  return { methods, tried, certificates };
}

function connectHop(hop: Hop, target: ConnectionTarget, o: ConnectionOptions, keys: KeyStore, sock: Duplex | undefined, isJump: boolean): Promise<Client> {
  const s = hop.settings;
  // A shared jump host's errors are about the jump host, whichever target asked first.
  const errHost = isJump ? hop.label : target.name;
  const { knownHostsFile, globalFiles } = knownHostsFilesOf(target, s, o);
  const lookupName = knownHostsLookupName(s.hostname, s.port, s.hostKeyAlias);
  const checking = hostKeyCheckingOf(isJump ? undefined : target, s, o);
  const timeoutMs = s.connectTimeoutMs ?? o.connectTimeoutMs ?? 10_000;
  // CheckHostIP yes: ssh also checks the key recorded for the address it reached, and refuses when that one differs.
  // postfleet does not know that address; ssh skips the check through a jump host and when HostName is an address.
  if (s.checkHostIp && !sock && !isIP(s.hostname)) {
    return Promise.reject(
      new TransportConfigError(
        errHost,
        `${s.checkHostIp.file}:${s.checkHostIp.line}: CheckHostIP yes applies to ${hop.label}, but postfleet cannot check the key ` +
          `recorded for the address it reaches, and ssh may refuse a key postfleet would accept; ` +
          `set CheckHostIP no for this host before this line (the default), or give its address as HostName`,
      ),
    );
  }

  const keysStart = performance.now();
  return authMethods(hop, target, o, keys).then(
    ({ methods, tried, certificates }) =>
      new Promise<Client>((resolve, reject) => {
        const keysMs = performance.now() - keysStart;
        const connectStart = performance.now();
        let authStart: number | undefined;
        if (methods.length === 0) {
          reject(
            new AuthError(
              errHost,
              `no way to authenticate to ${hop.label} as ${s.user}: no key file configured or found and no ssh-agent (SSH_AUTH_SOCK)`,
            ),
          );
          return;
        }
        let refused: TransportError | undefined;
        const client = new Client();
        let settled = false;
        const finish = (err?: TransportError) => {
          if (settled) return;
          settled = true;
          if (err) {
            client.end();
            reject(err);
          } else resolve(client);
        };
        client.once("ready", () => {
          const now = performance.now();
          const at = authStart ?? now;
          connectTimings.set(client, { connectMs: Math.round(at - connectStart), authMs: Math.round(keysMs + now - at) });
          finish();
        });
        client.on("error", (err: Error & { level?: string; code?: string }) => {
          if (settled) return;
          const where = `${hop.label} (${describeEndpoint(s)})`;
          if (refused) return finish(refused);
          if (err.level === "client-authentication") {
            return finish(new AuthError(errHost, `authentication failed for ${where}; tried: ${tried.join(", ")}${certificateNote(certificates)}`, { cause: err }));
          }
          if (err.level === "client-timeout") {
            return finish(new UnreachableError(errHost, `timed out after ${timeoutMs / 1000} s connecting to ${where}`, { cause: err }));
          }
          const code = err.code ? ` (${err.code})` : "";
          finish(new UnreachableError(errHost, `cannot connect to ${where}: ${err.message}${code}`, { cause: err }));
        });
        client.once("close", () => finish(refused ?? new UnreachableError(errHost, `connection to ${hop.label} closed during the handshake`)));

        const lookupFiles = [...(knownHostsFile === undefined ? [] : [knownHostsFile]), ...globalFiles];
        const queue = [...methods];
        const config: ConnectConfig = {
          host: s.hostname,
          port: s.port,
          username: s.user,
          readyTimeout: timeoutMs,
          keepaliveInterval: o.keepaliveIntervalMs ?? 15_000,
          keepaliveCountMax: o.keepaliveCountMax ?? 3,
          algorithms: { serverHostKey: hostKeyAlgorithms(knownKeyTypes(lookupName, lookupFiles)) as never },
          authHandler: (_left: AuthenticationType[], _partial: boolean, next) => {
            authStart ??= performance.now();
            next((queue.shift() ?? false) as never);
          },
          hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
            try {
              const r = verifyHostKey({
                hostLabel: errHost,
                host: s.hostname,
                port: s.port,
                hostKeyAlias: s.hostKeyAlias,
                key,
                file: knownHostsFile,
                globalFiles,
                checking,
                hashNew: s.hashKnownHosts,
              });
              presentedKeys.set(client, fingerprintSha256(key));
              if (r.status === "added") o.warn?.(`${hop.label}: added host key to ${r.file}: ${r.line}`);
              if (r.status === "accepted-unverified") {
                unverifiedKeys.set(client, r.key);
                o.warn?.(`${hop.label}: ${r.warning}`);
              }
              verify(true);
            } catch (e) {
              refused =
                e instanceof TransportError
                  ? e
                  : new HostKeyError(errHost, `cannot check the host key of ${hop.label}: ${(e as Error).message}`, "unknown");
              verify(false);
            }
          },
        };
        if (sock) config.sock = sock;
        client.connect(config);
      }),
  );
}
