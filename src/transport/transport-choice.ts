// Which transport reaches a host when neither the inventory (postfleet_transport)
// nor the command line (--transport) chose one. ssh2, in process, is the
// cheaper; the system's ssh is chosen for a host that needs what only ssh does,
// decided before connecting (never by a failed attempt, which would cost every
// such host a handshake per run):
//  - ssh options given in the inventory (ansible_ssh_common_args/extra_args) beyond a ProxyJump, which ssh2 cannot follow;
//  - an ssh_config setting postfleet's reader cannot follow (ProxyCommand, Match exec, KnownHostsCommand...);
//  - CheckHostIP yes for a host reached by name;
//  - a host (or a jump host in front of it) that only an @cert-authority known_hosts line vouches for;
//  - a user certificate ssh would present: KEY-cert.pub beside a key it offers, CertificateFile, or one
//    held by the ssh-agent.
// ssh2 1.17 can neither negotiate certificate host keys nor sign with a user
// certificate (mscdex/ssh2#551); docs/connecting.md says which transport does what.
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import type { ConnectionTarget, TransportKind } from "../shared/connection-target.js";
import { splitProxyJump } from "../shared/ssh-args.js";
import { agentIdentities } from "./agent-identities.js";
import { TransportConfigError } from "./errors.js";
import { jumpChain } from "./jump-chain.js";
import { certificateOnlyVouching, knownHostsLookupName } from "./known-hosts.js";
import { defaultKeyFiles } from "./private-keys.js";
import { isCertificateType } from "./ssh-cert.js";
import { resolveTarget, type HopSettings } from "./ssh-config/resolve.js";
import { hostKeyCheckingOf, knownHostsFilesOf, type ConnectionOptions } from "./ssh-connection.js";

export interface TransportChoice {
  kind: TransportKind;
  /** Why openssh was chosen for a host that set no transport; undefined when it was set, or for ssh2. */
  because?: string;
}

/** The transport for `target`: its own setting, else ssh2 unless the host needs the system's ssh (above). */
export async function chooseTransport(target: ConnectionTarget, o: ConnectionOptions = {}): Promise<TransportChoice> {
  return (await chooseTransportResolving(target, o)).choice;
}

/** The choice, and the host's ssh_config settings when it resolved them (the transport then need not again). */
export async function chooseTransportResolving(target: ConnectionTarget, o: ConnectionOptions = {}): Promise<{ choice: TransportChoice; settings?: HopSettings }> {
  if (target.transport) return { choice: { kind: target.transport } };
  const seen: { settings?: HopSettings } = {};
  const because = await opensshNeed(target, o, seen);
  return { choice: because ? { kind: "openssh", because } : { kind: "ssh2" }, ...(seen.settings ? { settings: seen.settings } : {}) };
}

async function opensshNeed(target: ConnectionTarget, o: ConnectionOptions, seen: { settings?: HopSettings }): Promise<string | undefined> {
  const beyond = splitProxyJump(target.sshArgs ?? []).others;
  if (beyond.length) return `ssh options are set for it that only ssh follows (${beyond.join(" ")}, from ansible_ssh_common_args or ansible_ssh_extra_args)`;
  let settings: HopSettings;
  const hops: { label: string; settings: HopSettings; isJump: boolean }[] = [];
  try {
    settings = seen.settings = resolveTarget(target, o.sshConfig);
    if (settings.proxyJump) {
      for (const j of jumpChain(settings.proxyJump, target.name, o.sshConfig)) hops.push({ label: `jump host ${j.host}`, settings: j.settings, isJump: true });
    }
  } catch (e) {
    if (e instanceof TransportConfigError && e.opensshCan) return `ssh_config: ${e.message}`;
    return undefined; // the ssh2 transport reports it, as it always has
  }
  hops.push({ label: target.name, settings, isJump: false });

  for (const [i, hop] of hops.entries()) {
    const s = hop.settings;
    // ssh checks the address's key only on the first hop (through a jump host it does not know the address).
    if (i === 0 && s.checkHostIp && !isIP(s.hostname)) {
      return `CheckHostIP yes applies to ${hop.isJump ? hop.label : "it"} (${s.checkHostIp.file}:${s.checkHostIp.line})`;
    }
    if (hostKeyCheckingOf(hop.isJump ? undefined : target, s, o) === "off") continue;
    const { knownHostsFile, globalFiles } = knownHostsFilesOf(target, s, o);
    const lookup = knownHostsLookupName(s.hostname, s.port, s.hostKeyAlias);
    const ca = certificateOnlyVouching(lookup, [...(knownHostsFile === undefined ? [] : [knownHostsFile]), ...globalFiles]);
    if (ca) return `only an @cert-authority line vouches for ${hop.isJump ? `${hop.label} (${lookup})` : lookup} (${ca.file}:${ca.line})`;
  }

  for (const hop of hops) {
    const cert = userCertificateFile(hop.settings, o);
    if (cert) return `${hop.isJump ? `for ${hop.label}, ` : ""}ssh would present the user certificate ${cert}`;
  }

  const socket = o.agentSocket === undefined ? process.env.SSH_AUTH_SOCK : o.agentSocket;
  if (socket) {
    const held = (await agentIdentities(socket)).find((id) => isCertificateType(id.type));
    if (held) return `ssh-agent holds a user certificate (${held.type}${held.comment ? ` ${held.comment}` : ""}) ssh would present`;
  }
  return undefined;
}

/** A user certificate ssh would present for this hop: KEY-cert.pub beside a key it offers, or a CertificateFile. */
function userCertificateFile(s: HopSettings, o: ConnectionOptions): string | undefined {
  const keys = s.identityFiles.length > 0 ? s.identityFiles : o.defaultKeys === false ? [] : defaultKeyFiles(o.sshConfig?.home);
  for (const k of keys) if (existsSync(k) && existsSync(`${k}-cert.pub`)) return `${k}-cert.pub`;
  return (s.certificateFiles ?? []).find((f) => existsSync(f));
}
