import { describe, expect, it } from "vitest";
import { serviceSteps } from "../../../../src/agent/requests/service.js";
import { unitName } from "../../../../src/agent/postfix/systemd.js";
import type { Instance } from "../../../../src/agent/postmulti/instances.js";

const postfix = (w: string) => ({ argv: ["/usr/sbin/postfix", "-c", "/etc/postfix-out", w], env: { MAIL_CONFIG: "/etc/postfix-out" } });
const systemctl = (v: string) => ({ argv: ["/usr/bin/systemctl", v, "postfix@postfix-out.service"], env: {} });
const argvs = (r: ReturnType<typeof serviceSteps>) => ("skipped" in r ? r.skipped : r.steps.map((s) => s.argv.join(" ")));

describe("service steps", () => {
  it("skips start of a running instance and stop/reload of a stopped one", () => {
    expect(argvs(serviceSteps("start", true, postfix, null))).toBe("already running");
    expect(argvs(serviceSteps("stop", false, postfix, systemctl))).toBe("not running");
    expect(argvs(serviceSteps("reload", false, postfix, null))).toBe("not running");
  });

  it("runs postfix -c DIR ACTION, restart as stop then start (start alone when stopped)", () => {
    expect(argvs(serviceSteps("start", false, postfix, null))).toEqual(["/usr/sbin/postfix -c /etc/postfix-out start"]);
    expect(argvs(serviceSteps("reload", true, postfix, null))).toEqual(["/usr/sbin/postfix -c /etc/postfix-out reload"]);
    expect(argvs(serviceSteps("restart", true, postfix, null))).toEqual(["/usr/sbin/postfix -c /etc/postfix-out stop", "/usr/sbin/postfix -c /etc/postfix-out start"]);
    expect(argvs(serviceSteps("restart", false, postfix, null))).toEqual(["/usr/sbin/postfix -c /etc/postfix-out start"]);
  });

  it("goes through systemctl when systemd runs Postfix, restart included", () => {
    expect(argvs(serviceSteps("start", false, postfix, systemctl))).toEqual(["/usr/bin/systemctl start postfix@postfix-out.service"]);
    expect(argvs(serviceSteps("restart", true, postfix, systemctl))).toEqual(["/usr/bin/systemctl restart postfix@postfix-out.service"]);
  });
});

describe("postfix@ unit names", () => {
  const ip = (o: Partial<Instance>): Instance => ({ configDir: "/etc/postfix-out", queueDir: "", dataDir: "", name: "postfix-out", group: null, enabled: true, primary: false, ...o });
  it("names the primary postfix@- and others by multi_instance_name", () => {
    expect(unitName(ip({ primary: true, name: null, configDir: "/etc/postfix" }))).toBe("postfix@-.service");
    expect(unitName(ip({}))).toBe("postfix@postfix-out.service");
    expect(unitName(ip({ name: null }))).toBeNull();
  });
});
