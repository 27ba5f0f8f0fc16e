// Fault cases around one multi-step playbook run on a 4-host lab: a settings
// step (main.cf and master.cf, several postconf writes per instance), a
// health-gated restart and a wait step (whose command sleeps), in two batches
// of 2 with a budget of 2 failed hosts, so one faulted host in the first
// batch leaves the second batch to run.
import { join } from "node:path";
import { startLab, type Lab, type TestLabHost } from "../lab.js";
import { writePlaybook } from "../playbook.js";
import { runFaultCase, type FaultCase } from "./fault-case.js";
import { HOLDING, installPostconfTrap } from "./faults.js";
import { playbookStated } from "./playbook-state.js";

export const FAULT_PLAYBOOK = writePlaybook(
  "faults.yml",
  `- name: settings, restart, wait
  hosts: all
  serial: 2
  max_fail: 2
  steps:
    - name: settings
      instances: enabled
      postconf:
        main_cf:
          delay_warning_time: "{{ warn }}"
          maximal_queue_lifetime: "{{ life }}"
        master_cf:
          pickup/unix:
            process_limit: "{{ procs }}"
            syslog_name: "pickup-{{ procs }}"
    - name: restart
      instances: enabled
      restart:
        healthy_timeout: 45s
    - name: wait
      instances: enabled
      wait:
        master: true
        command: [sleep, "2"]
        timeout: 60s
`,
);

// The same settings step alone: rerun after each case to learn the "after"
// state and prove that the run converges, without the time restarts take.
const SETTINGS_ONLY = writePlaybook(
  "settings-only.yml",
  `- name: settings
  hosts: all
  steps:
    - name: settings
      instances: enabled
      postconf:
        main_cf:
          delay_warning_time: "{{ warn }}"
          maximal_queue_lifetime: "{{ life }}"
        master_cf:
          pickup/unix:
            process_limit: "{{ procs }}"
            syslog_name: "pickup-{{ procs }}"
`,
);

// Points of the run on a host, as seen from inside it (patterns that do not match the polling shell).
// The settings step is caught by the postconf trap (armHoldAtWrite), which holds a write.
export const PB_POINT = {
  settings: HOLDING,
  restart: "pgrep -f '[p]ostfix-script'",
  wait: "pgrep -f '^sleep 2$'",
} as const;

export async function startPlaybookLab(): Promise<Lab> {
  const lab = await startLab(4);
  await Promise.all(
    lab.hosts.map((h) =>
      h.exec("postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable && postmulti -p start"),
    ),
  );
  // The postconf trap on every host (inert until a case arms it).
  await Promise.all(lab.hosts.map((h) => installPostconfTrap(h)));
  return lab;
}

let round = 0;

/** One run of the fault playbook with fresh values, under `inject`. */
export async function playbookCase(
  lab: Lab,
  name: string,
  o: {
    faulted: string[];
    inject: FaultCase["inject"];
    repair?: () => Promise<void>;
    exits: FaultCase["exits"];
    interrupted?: boolean;
    hosts?: TestLabHost[];
    /** --op-timeout (s): above a restart's duration on a loaded machine, unless a hung host is the point. */
    opTimeout?: number;
    /** Hosts removed by the case (not checked on the host side, left out of the rerun). */
    gone?: string[];
    /** More environment for the controller (and the rerun). */
    env?: Record<string, string>;
  },
) {
  round++;
  const vars = { warn: `${round + 1}h`, life: `${round + 2}d`, procs: `${round + 2}` };
  const extra = ["-e", `warn=${vars.warn} life=${vars.life} procs=${vars.procs}`];
  const hosts = o.hosts ?? lab.hosts;
  const inv = ["-i", lab.inventoryPath];
  // Every enabled instance runs when a case starts (a killed controller may have left some stopped).
  const gone = o.gone ?? [];
  await Promise.all(hosts.filter((h) => !gone.includes(h.name)).map((h) => h.exec("postmulti -p start >/dev/null 2>&1 || true")));
  return runFaultCase({
    name,
    hosts,
    args: [...inv, "run", FAULT_PLAYBOOK, ...extra, "--json", "-T", "15", "--op-timeout", String(o.opTimeout ?? 90)],
    env: { HOME: join(lab.dir, "home"), ...o.env },
    inject: o.inject,
    ...(o.repair ? { repair: o.repair } : {}),
    rerun: [...inv, ...(gone.length ? ["-l", `all:!${gone.join(":!")}`] : []), "run", SETTINGS_ONLY, ...extra, "--json"],
    ...(gone.length ? { gone } : {}),
    exits: o.exits,
    stated: (doc, h, b, n) =>
      playbookStated({ delay_warning_time: vars.warn, maximal_queue_lifetime: vars.life }, !o.faulted.includes(h.name) && !o.interrupted)(doc, h, b, n),
    marker: lab.dir,
    ports: hosts.map((h) => h.port),
    limitMs: 240_000,
  });
}
