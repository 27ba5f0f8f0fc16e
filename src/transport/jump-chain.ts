// The jump hosts in front of a target, in connection order, as ssh goes
// through them. For `ProxyJump j1,j2` ssh runs `ssh -J j1 -W target j2`, so j2's
// own ProxyJump is overridden, but j1 is reached by a plain `ssh j1`: j1's own
// ssh_config ProxyJump applies, recursively. Ignoring it would reach j1 around
// its bastion.
import { TransportConfigError } from "./errors.js";
import { parseProxyJump, resolveHop, type HopSettings, type SshConfigOptions } from "./ssh-config/resolve.js";

export interface JumpHop {
  /** The jump host as named in the chain. */
  host: string;
  settings: HopSettings;
}

/** How deep jump hosts' own ProxyJumps may nest before it is taken for a loop (ssh has no limit; each level is one more ssh process). */
export const MAX_JUMP_NESTING = 16;

/** The hops of `spec` (ssh -J syntax), each with its ssh_config applied, the first one's own chain before it. */
export function jumpChain(spec: string, label: string, o: SshConfigOptions = {}, seen: string[] = []): JumpHop[] {
  const hops: JumpHop[] = [];
  parseProxyJump(spec, label).forEach((j, i) => {
    const settings = resolveHop({ host: j.host, port: j.port, user: j.user }, o);
    if (i === 0 && settings.proxyJump) {
      const key = `${settings.user}@${settings.hostname}:${settings.port}`;
      if (seen.includes(key) || seen.length >= MAX_JUMP_NESTING) {
        throw new TransportConfigError(
          label,
          `jump host ${j.host} is reached through its own ProxyJump ${JSON.stringify(settings.proxyJump)}, which leads back to it` +
            ` (a loop ssh cannot follow either: exclude it from the Host pattern that sets ProxyJump, e.g. Host * !${j.host})`,
        );
      }
      hops.push(...jumpChain(settings.proxyJump, label, o, [...seen, key]));
    }
    hops.push({ host: j.host, settings });
  });
  return hops;
}
