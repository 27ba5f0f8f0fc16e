// The faults the suite injects into lab hosts, from outside (docker) or
// inside (docker exec), and the waits that place them at a point of a run.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { TestLabHost } from "../lab.js";

const run = promisify(execFile);
const docker = (...args: string[]) => run("docker", args, { timeout: 60_000 });
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The agent's serve-mode process (started as `node agent.cjs --serve`, or
 * through the verifying loader `node -e "...postfleet-loader..." ... --serve`),
 * as a pgrep -f pattern that does not match the shell that runs it.
 */
export const AGENT_PATTERN = "[p]ostfleet-loader|cjs [-]-serve";

/** The agent's serve-mode process on a host (pids), if any. */
export async function agentPids(host: TestLabHost): Promise<number[]> {
  const r = await host.exec(`pgrep -f -- '${AGENT_PATTERN}' || true`);
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

// A case's waits end when its controller has exited (runFaultCase touches
// this file on every host), so that no injection outlives its case.
const STOP_FILE = "/run/fault-case-over";

/**
 * Poll a shell condition in the container until it holds (true), the case is
 * over or `timeoutMs` of wall-clock time passes (false). Every 50 ms, with the
 * clock read once a second: the points polled for last half a second or more,
 * and a poll that forks less leaves the shared CPU to the runs under test.
 */
export async function waitOnHost(host: TestLabHost, condition: string, timeoutMs = 60_000): Promise<boolean> {
  const r = await host.exec(
    `end=$(( $(date +%s) + ${Math.ceil(timeoutMs / 1000)} )); i=0; until { ${condition}; } >/dev/null 2>&1; do ` +
      `[ -e ${STOP_FILE} ] && exit 2; i=$((i + 1)); ` +
      `if [ $((i % 20)) -eq 0 ] && [ $(date +%s) -ge $end ]; then exit 1; fi; sleep 0.05; done`,
  );
  return r.exitCode === 0;
}

/** The case is over: pending waits give up. */
export async function endInjections(hosts: TestLabHost[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.exec(`touch ${STOP_FILE}`).catch(() => undefined)));
}
/** A new case begins: waits wait again. */
export async function resetInjections(hosts: TestLabHost[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.exec(`rm -f ${STOP_FILE}`).catch(() => undefined)));
}

/** Kill every ssh session on the host (sshd's per-connection processes; the listener is PID 1 and survives). */
export async function killSshSessions(host: TestLabHost): Promise<void> {
  await host.exec("pkill -9 -x sshd || true");
}

export async function killAgent(host: TestLabHost): Promise<void> {
  await host.exec(`pkill -9 -f -- '${AGENT_PATTERN}' || true`);
}

// A postconf in front of the real one, armed per case through /run/fault-trap
// ("MODE SKIP SECONDS"): at a configuration write (an operand with "=", or
// -X/-MX/-PX), after SKIP writes, once:
//  - kill: the write runs, and SECONDS into it the agent that started it gets SIGKILL;
//  - hold: /run/fault-holding appears and the write waits SECONDS before it runs,
//    so that a fault (a controller signal) lands in the middle of the edit.
const POSTCONF_TRAP = String.raw`#!/bin/sh
w=
if [ -e /run/fault-trap ]; then
  for a in "$@"; do case "$a" in *=*|-X|-MX|-PX) w=1 ;; esac; done
fi
if [ -n "$w" ]; then
  read mode skip d < /run/fault-trap
  if [ "$skip" -gt 0 ]; then
    echo "$mode $((skip - 1)) $d" > /run/fault-trap
  elif mv /run/fault-trap /run/fault-trap.fired 2>/dev/null; then
    if [ "$mode" = hold ]; then
      touch /run/fault-holding
      sleep "$d"
      exec /usr/sbin/postconf.real "$@"
    fi
    agent=$PPID
    while [ "$agent" -gt 1 ] && ! tr '\0' ' ' </proc/$agent/cmdline | grep -q -e 'postfleet-loader' -e 'cjs --serve' -e 'postfleet-agent'; do agent=$(cut -d' ' -f4 /proc/$agent/stat); done
    /usr/sbin/postconf.real "$@" &
    p=$!
    [ "$d" = 0 ] || sleep "$d"
    kill -9 $agent
    wait $p
    exit $?
  fi
fi
exec /usr/sbin/postconf.real "$@"
`;

export async function installPostconfTrap(host: TestLabHost): Promise<void> {
  await host.exec(`[ -e /usr/sbin/postconf.real ] || cp -p /usr/sbin/postconf /usr/sbin/postconf.real`);
  await host.exec(["sh", "-c", `cat > /usr/sbin/postconf.trap <<'EOF'\n${POSTCONF_TRAP}EOF\nchmod 755 /usr/sbin/postconf.trap && mv /usr/sbin/postconf.trap /usr/sbin/postconf`]);
}

/** Arm the trap: after `skip` configuration writes, the next one gets its agent killed `delayMs` into it. */
export async function armAgentKillAtWrite(host: TestLabHost, delayMs: number, skip = 0): Promise<void> {
  await host.exec(`rm -f /run/fault-trap.fired /run/fault-holding; echo "kill ${skip} ${delayMs / 1000}" > /run/fault-trap`);
}

/** Arm the trap: after `skip` configuration writes, the next one is held `holdMs` (see HOLDING) before it runs. */
export async function armHoldAtWrite(host: TestLabHost, holdMs: number, skip = 0): Promise<void> {
  await host.exec(`rm -f /run/fault-trap.fired /run/fault-holding; echo "hold ${skip} ${holdMs / 1000}" > /run/fault-trap`);
}
/** The condition (for waitOnHost) that a held write is being held now. */
export const HOLDING = "test -e /run/fault-holding";

// The stop trap: a wrapper in place of Postfix's postfix-script. When armed
// (/run/fault-stop-hold), the next `stop` marks /run/fault-stopping and waits
// SECONDS before the real script runs, so that a fault lands while a stop is
// under way (a bare stop can end before a poller sees it). Inert otherwise.
const STOP_TRAP = String.raw`#!/bin/sh
if [ "$1" = stop ] && mv /run/fault-stop-hold /run/fault-stop-hold.fired 2>/dev/null; then
  touch /run/fault-stopping
  sleep "$(cat /run/fault-stop-hold.fired)"
fi
exec /usr/lib/postfix/sbin/postfix-script.real "$@"
`;

export async function installStopTrap(host: TestLabHost): Promise<void> {
  const script = "/usr/lib/postfix/sbin/postfix-script";
  await host.exec(`[ -e ${script}.real ] || cp -p ${script} ${script}.real`);
  await host.exec(["sh", "-c", `cat > ${script}.trap <<'EOF'\n${STOP_TRAP}EOF\nchmod 755 ${script}.trap && mv ${script}.trap ${script}`]);
}
/** Arm the stop trap: the next `postfix stop` on the host is held `holdMs` (see STOP_HOLDING) before it runs. */
export async function armHoldAtStop(host: TestLabHost, holdMs: number): Promise<void> {
  await host.exec(`rm -f /run/fault-stop-hold.fired /run/fault-stopping; echo ${holdMs / 1000} > /run/fault-stop-hold`);
}
/** The condition (for waitOnHost) that a held stop is being held now. */
export const STOP_HOLDING = "test -e /run/fault-stopping";
/** Did the armed stop trap fire? Disarms it either way. */
export async function stopTrapFired(host: TestLabHost): Promise<boolean> {
  const r = await host.exec("test -e /run/fault-stop-hold.fired; f=$?; rm -f /run/fault-stop-hold /run/fault-stop-hold.fired /run/fault-stopping; exit $f");
  return r.exitCode === 0;
}

/** Did the armed trap fire? Disarms it either way. */
export async function trapFired(host: TestLabHost): Promise<boolean> {
  const r = await host.exec("test -e /run/fault-trap.fired; f=$?; rm -f /run/fault-trap /run/fault-trap.fired /run/fault-holding; exit $f");
  return r.exitCode === 0;
}

export async function pause(host: TestLabHost): Promise<void> {
  // The cgroup freezer can fail on a busy machine ("unable to freeze"): try again.
  for (let i = 0; ; i++) {
    try {
      await docker("pause", host.containerId);
      return;
    } catch (e) {
      if (i >= 5) throw e;
      await sleep(200);
    }
  }
}
export async function unpause(host: TestLabHost): Promise<void> {
  await docker("unpause", host.containerId).catch(() => undefined);
}

/** Remove the host for good (container killed and deleted). */
export async function removeHost(host: TestLabHost): Promise<void> {
  await docker("rm", "-f", "-v", host.containerId);
}

/**
 * Cut the host off its network: its interfaces go down inside its network
 * namespace (nsenter from the machine), so packets to and from it are lost
 * and nothing answers; returns how to undo it (links up, default route back).
 */
export async function cutNetwork(host: TestLabHost): Promise<() => Promise<void>> {
  const { stdout } = await docker("inspect", "-f", "{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}", host.containerId);
  const [pid = "", gw = ""] = stdout.trim().split(/\s+/);
  const ns = (...args: string[]) => run("nsenter", ["-t", pid, "-n", ...args]);
  await ns("ip", "link", "set", "eth0", "down");
  return async () => {
    await ns("ip", "link", "set", "eth0", "up");
    if (gw) await ns("ip", "route", "replace", "default", "via", gw).catch(() => undefined);
  };
}

/**
 * Make `dir` (e.g. /etc/postfix-out) a full disk: a small tmpfs mounted over
 * it with the same files, then filled up. Returns how to undo it (the files
 * as they are on the tmpfs then are copied back).
 */
export async function fillDisk(host: TestLabHost, dir: string): Promise<() => Promise<void>> {
  const q = JSON.stringify(dir);
  // In the container's mount namespace, as root of the machine (docker exec --privileged may be refused).
  const { stdout } = await docker("inspect", "-f", "{{.State.Pid}}", host.containerId);
  const sh = (cmd: string) => run("nsenter", ["-t", stdout.trim(), "-m", "sh", "-c", cmd]);
  await sh(
    `set -e; rm -rf /tmp/disk-save; cp -a ${q} /tmp/disk-save; mount -t tmpfs -o size=256k tmpfs ${q}; cp -a /tmp/disk-save/. ${q}/; ` +
      `dd if=/dev/zero of=${q}/.fill bs=4k 2>/dev/null || true; dd if=/dev/zero of=${q}/.fill2 bs=1 2>/dev/null || true`,
  );
  return async () => {
    await sh(`set -e; rm -f ${q}/.fill ${q}/.fill2; rm -rf /tmp/disk-now; cp -a ${q} /tmp/disk-now; umount ${q}; cp -a /tmp/disk-now/. ${q}/`);
  };
}
