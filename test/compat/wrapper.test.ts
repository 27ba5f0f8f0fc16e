// The postfix-wrapper(5) API: on a three-instance host (primary +
// postfix-out + postfix-in, both enabled), the real `postfix start|status|
// reload|check|stop` runs multi_instance_wrapper. One side keeps the real
// postmulti as wrapper, the other sets
//   multi_instance_wrapper = /usr/bin/node /opt/postfleet/agent.cjs -p --
// and everything the real postfix(1) then prints and does must be the same:
// the instances' own "starting/stopping" lines show the order (each instance
// logs under its own syslog_name), status shows which run.
import { describe, it } from "vitest";
import { runScenario, TOOL_PLACEHOLDER, type Scenario } from "../support/compat/scenario.js";
import { dumpOutcome, findMismatch, recordMismatch } from "../support/compat/report.js";

const running = "for d in /etc/postfix /etc/postfix-out /etc/postfix-in; do postfix -c $d status >/dev/null 2>&1 && echo \"$d running\" || echo \"$d stopped\"; done";

const wrapper: Scenario = {
  name: "wrapper: real postfix start/status/reload/check/stop drive all enabled instances in order",
  setup: [
    "postmulti -e init",
    "postmulti -I postfix-out -G mta -e create",
    "postmulti -I postfix-in -G mta -e create",
    "postmulti -i postfix-out -e enable",
    "postmulti -i postfix-in -e enable",
    "postmulti -I postfix-off -e create",
  ],
  toolInTree: true,
  steps: [
    { sh: `postconf -e 'multi_instance_wrapper = ${TOOL_PLACEHOLDER} -p --'` },
    { sh: "postfix start" },
    { sh: running },
    { sh: "postfix status" },
    { sh: "postfix reload" },
    { sh: "postfix check; echo check=$?" },
    { sh: "postfix start" },
    { sh: "postfix stop" },
    { sh: running },
    { sh: "postfix status" },
    { sh: "postfix stop" },
    { sh: "postmulti -i postfix-out -e disable && postfix start && postfix status; postfix stop" },
    { sh: running },
  ],
};

describe("postfix-wrapper(5) API with the agent as multi_instance_wrapper", () => {
  it(wrapper.name, async ({ expect }) => {
    const { real, subject } = await runScenario(wrapper);
    dumpOutcome(wrapper.name, real, subject);
    recordMismatch(findMismatch(wrapper.name, real, subject));
    // The scenario really starts and stops instances (else it proves nothing).
    expect(real.steps[2]?.stdout).toBe("/etc/postfix running\n/etc/postfix-out running\n/etc/postfix-in running\n");
    expect(real.steps[8]?.stdout).toBe("/etc/postfix stopped\n/etc/postfix-out stopped\n/etc/postfix-in stopped\n");
    expect.soft(subject.steps, "exit code, stdout and stderr of every step").toEqual(real.steps);
    expect.soft(subject.tree, "file tree (type, owner, mode, content)").toEqual(real.tree);
        expect.soft(subject.log, "mail log lines of postmulti, postmulti-script, postfix, postfix-script").toEqual(real.log);
  }, 600_000);
});
