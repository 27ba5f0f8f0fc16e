import { describe, expect, it } from "vitest";
import { cleanEnv, genericCommandEnv, helperEnv, postfixCommandEnv, baseEnv } from "../../../../src/agent/postmulti/environment.js";
import {
  ClaimTable,
  iterationOrder,
  loadAllInstances,
  matchesSelection,
  parseInstance,
  postfixCommandFlags,
  primaryFromValues,
  wordInList,
  type Instance,
  type PrimaryConfig,
} from "../../../../src/agent/postmulti/instances.js";
import { assignNewParameter } from "../../../../src/agent/postmulti/lifecycle-arguments.js";
import { checkNameAssignments, isSafeName, makePrivatePath } from "../../../../src/agent/postmulti/lifecycle-names.js";
import { PostmultiFatal } from "../../../../src/agent/postmulti/messages.js";
import { splitList } from "../../../../src/agent/postfix/postconf.js";
import { listJsonLine, listLine } from "../../../../src/agent/postmulti/instance-format.js";

const primary: PrimaryConfig = primaryFromValues(
  new Map([
    ["config_directory", "/etc/postfix"],
    ["command_directory", "/usr/sbin"],
    ["daemon_directory", "/usr/lib/postfix/sbin"],
    ["meta_directory", "/etc/postfix"],
    ["shlib_directory", "/usr/lib/postfix"],
    ["queue_directory", "/var/spool/postfix"],
    ["data_directory", "/var/lib/postfix"],
    ["multi_instance_directories", "/etc/postfix-out, /etc/postfix-in /etc/postfix-null"],
    ["multi_instance_enable", "yes"],
    ["postmulti_start_commands", "start"],
    ["postmulti_stop_commands", "stop abort drain quick-stop"],
    ["postmulti_control_commands", "reload flush"],
    ["import_environment", "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME"],
    ["syslog_name", "postfix"],
    ["maillog_file", "/var/log/postfix.log"],
    ["postlog_service_name", "postlog"],
    ["myhostname", "mx.example"],
  ]),
);

const fakeMainCf: Record<string, string> = {
  "/etc/postfix-out":
    "queue_directory = /var/spool/postfix-out\ndata_directory = /var/lib/postfix-out\nmulti_instance_name = postfix-out\nmulti_instance_group = mta\nmulti_instance_enable = yes\n",
  "/etc/postfix-in":
    "queue_directory = /var/spool/postfix-in\ndata_directory = /var/lib/postfix-in\nmulti_instance_name = postfix-in\nmulti_instance_group = mta\nmulti_instance_enable = no\n",
  "/etc/postfix-null":
    "queue_directory = /var/spool/postfix-null\ndata_directory = /var/lib/postfix-null\nmulti_instance_name = null\nmulti_instance_group =\nmulti_instance_enable = YES\n",
};
const reader = async (dir: string) => ({ stdout: fakeMainCf[dir] ?? "", exitCode: fakeMainCf[dir] ? 0 : 1 });
const load = () => loadAllInstances(primary, new ClaimTable(), reader);
const loaded = await load();
const names = (list: Instance[]) => list.map((i) => i.name ?? i.configDir);

describe("instance table", () => {
  it("loads the primary first, then multi_instance_directories in order", async () => {
    const list = await load();
    expect(names(list)).toEqual(["/etc/postfix", "postfix-out", "postfix-in", "null"]);
    expect(list.map((i) => i.enabled)).toEqual([true, true, false, true]);
    expect(list[0]!.primary).toBe(true);
  });

  it("treats the primary as enabled in single-instance mode", async () => {
    const single = { ...primary, multiDirs: "", enable: false };
    expect((await loadAllInstances(single, new ClaimTable(), reader))[0]!.enabled).toBe(true);
    const multi = { ...primary, enable: false };
    expect((await loadAllInstances(multi, new ClaimTable(), reader))[0]!.enabled).toBe(false);
  });

  it("reports a queue directory shared by two instances as postmulti does", () => {
    const claims = new ClaimTable();
    claims.claim("/etc/postfix-a", "queue_directory", "/var/spool/x");
    expect(() => claims.claim("/etc/postfix-b", "queue_directory", "/var/spool/x")).toThrow(
      "instance /etc/postfix-b, queue_directory=/var/spool/x conflicts with instance /etc/postfix-a, queue_directory=/var/spool/x",
    );
  });

  it("fails on a secondary main.cf that lacks parameters or has a bad boolean", () => {
    expect(() => parseInstance("/etc/x", { stdout: "queue_directory = /q\n", exitCode: 0 })).toThrow(
      "Failed to obtain all required /etc/x/main.cf parameters",
    );
    expect(() =>
      parseInstance("/etc/x", { stdout: fakeMainCf["/etc/postfix-in"]!.replace("= no", "= maybe"), exitCode: 0 }),
    ).toThrow("Unexpected /etc/x/main.cf entry: multi_instance_enable = maybe");
  });
});

describe("instance selection", () => {
  const list = loaded;
  const pick = (sel: Parameters<typeof matchesSelection>[1]) => names(list.filter((i) => matchesSelection(i, sel)));

  it("matches by full name, by name without postfix-, by config directory and '-' for the primary", () => {
    expect(pick({ type: "name", name: "postfix-out" })).toEqual(["postfix-out"]);
    expect(pick({ type: "name", name: "out" })).toEqual(["postfix-out"]);
    expect(pick({ type: "name", name: "/etc/postfix-in" })).toEqual(["postfix-in"]);
    expect(pick({ type: "name", name: "-" })).toEqual(["/etc/postfix"]);
    expect(pick({ type: "name", name: "null" })).toEqual(["null"]);
    expect(pick({ type: "name", name: "postfix-null" })).toEqual([]);
    // A nameless instance is matched by its config directory only.
    expect(pick({ type: "name", name: "/etc/postfix" })).toEqual(["/etc/postfix"]);
  });

  it("matches groups and all", () => {
    expect(pick({ type: "group", name: "mta" })).toEqual(["postfix-out", "postfix-in"]);
    expect(pick({ type: "all" })).toHaveLength(4);
    expect(pick({ type: "none" })).toEqual([]);
  });

  it("starts in order, stops in reverse on enabled instances only", () => {
    const start = postfixCommandFlags(primary, "start");
    expect(start).toEqual({ reverse: false, checkDisabled: true, skipDisabled: false });
    expect(names(iterationOrder(list, start, { type: "all" }))).toEqual(["/etc/postfix", "postfix-out", "postfix-in", "null"]);
    const stop = postfixCommandFlags(primary, "quick-stop");
    expect(names(iterationOrder(list, stop, { type: "all" }))).toEqual(["null", "postfix-out", "/etc/postfix"]);
    const reload = postfixCommandFlags(primary, "reload");
    expect(names(iterationOrder(list, reload, { type: "group", name: "mta" }))).toEqual(["postfix-out"]);
    expect(postfixCommandFlags(primary, "status")).toEqual({ reverse: false, checkDisabled: false, skipDisabled: false });
  });

  it("honours custom postmulti_*_commands lists", () => {
    const custom = { ...primary, startCmds: "start,warm-start", controlCmds: "reload, flush ,poke" };
    expect(postfixCommandFlags(custom, "warm-start").checkDisabled).toBe(true);
    expect(postfixCommandFlags(custom, "poke").skipDisabled).toBe(true);
    expect(wordInList("a, b ,c", "b")).toBe(true);
    expect(wordInList("ab", "a")).toBe(false);
  });
});

describe("life-cycle argument rules", () => {
  it("derives private paths from the primary's, like make_private_path()", () => {
    expect(makePrivatePath("config_directory", "/etc/postfix", "postfix-out")).toBe("/etc/postfix-out");
    expect(makePrivatePath("queue_directory", "/var/spool/postfix", "postfix-out")).toBe("/var/spool/postfix-out");
    expect(makePrivatePath("config_directory", "/etc/postfix//", "postfix-a")).toBe("/etc/postfix-a");
    // Postfix quirks kept: one trailing slash, and a top-level directory.
    expect(makePrivatePath("config_directory", "/etc/postfix/", "postfix-a")).toBe("/etc/postfix/postfix-a");
    expect(makePrivatePath("config_directory", "/postfix", "postfix-a")).toBe("/postfix/postfix-a");
    expect(() => makePrivatePath("config_directory", "/etc/postfix", "")).toThrow("Missing config_directory parameter value");
    expect(() => makePrivatePath("data_directory", "rel", "postfix-a")).toThrow(
      "Invalid default data_directory parameter value: 'rel': specify an absolute pathname",
    );
  });

  it("checks name=value arguments", () => {
    const p = { configDir: null, queueDir: null, dataDir: null };
    assignNewParameter(p, "create", "queue_directory = /var/spool/q///");
    expect(p.queueDir).toBe("/var/spool/q");
    expect(() => assignNewParameter(p, "create", "junk")).toThrow("Malformed parameter setting 'junk'");
    expect(() => assignNewParameter(p, "import", "data_directory=/x")).toThrow("Parameter 'data_directory' not valid with action import");
    expect(() => assignNewParameter(p, "create", "config_directory=x")).toThrow(
      "Parameter setting 'config_directory' is not an absolute path",
    );
    expect(() => assignNewParameter(p, "create", "config_directory=//")).toThrow(
      "Parameter setting 'config_directory' is the root directory",
    );
  });

  it("checks new names and groups", () => {
    expect(isSafeName("postfix-a.b@c:d=e+f%g!h_i")).toBe(true);
    expect(isSafeName("a b")).toBe(false);
    expect(() => checkNameAssignments("out", null)).toThrow("New instance name must start with 'postfix-'");
    expect(() => checkNameAssignments("postfix-a/b", null)).toThrow("Illegal '/' character in new instance name: 'postfix-a/b'");
    expect(() => checkNameAssignments("postfix-$", null)).toThrow("Unsafe characters in new instance name: 'postfix-$'");
    expect(() => checkNameAssignments(null, "a;b")).toThrow("Unsafe characters in '-G a;b'");
    expect(() => checkNameAssignments("", "")).not.toThrow();
    try {
      checkNameAssignments("bad", null);
    } catch (e) {
      expect(e).toBeInstanceOf(PostmultiFatal);
    }
  });
});

describe("environments given to commands", () => {
  const [p0, out] = loaded as [Instance, Instance];
  const caller = { PATH: "/usr/bin:/bin", HOME: "/root", FOO: "bar", MAIL_DEBUG: "1" };
  const base = baseEnv(caller, primary, 1);

  it("exports logging settings and MAIL_VERBOSE like postmulti's start-up", () => {
    expect(base).toMatchObject({
      MAIL_LOGTAG: "postfix",
      POSTLOG_SERVICE: "/var/spool/postfix/public/postlog",
      POSTLOG_HOSTNAME: "mx.example",
      MAIL_VERBOSE: "",
    });
    expect(baseEnv(caller, { ...primary, maillogFile: "" }, 0)).not.toHaveProperty("POSTLOG_SERVICE");
  });

  it("gives -p commands only MAIL_CONFIG", () => {
    expect(postfixCommandEnv(base, out)).toEqual({ ...base, MAIL_CONFIG: "/etc/postfix-out" });
  });

  it("gives -x commands the instance's parameters and PATH", () => {
    const env = genericCommandEnv(base, primary, out);
    expect(env).toMatchObject({
      MAIL_CONFIG: "/etc/postfix-out",
      config_directory: "/etc/postfix-out",
      queue_directory: "/var/spool/postfix-out",
      data_directory: "/var/lib/postfix-out",
      multi_instance_name: "postfix-out",
      multi_instance_group: "mta",
      multi_instance_enable: "yes",
      command_directory: "/usr/sbin",
      daemon_directory: "/usr/lib/postfix/sbin",
      PATH: "/usr/sbin:/usr/bin:/bin",
      FOO: "bar",
    });
    expect(genericCommandEnv({}, primary, p0).PATH).toBe("/usr/sbin:/bin:/usr/bin:/sbin:/usr/sbin");
  });

  it("cleans postmulti-script's environment with import_environment", () => {
    const env = helperEnv(base, primary, out, { dirs: true, name: true, group: false }, [out]);
    expect(env).toEqual({
      MAIL_DEBUG: "1",
      MAIL_LOGTAG: "postfix",
      LANG: "C",
      POSTLOG_SERVICE: "/var/spool/postfix/public/postlog",
      POSTLOG_HOSTNAME: "mx.example",
      PATH: "/usr/sbin:/bin:/usr/bin:/sbin:/usr/sbin",
      MAIL_CONFIG: "/etc/postfix",
      command_directory: "/usr/sbin",
      daemon_directory: "/usr/lib/postfix/sbin",
      meta_directory: "/etc/postfix",
      shlib_directory: "/usr/lib/postfix",
      config_directory: "/etc/postfix-out",
      queue_directory: "/var/spool/postfix-out",
      data_directory: "/var/lib/postfix-out",
      multi_instance_directories: "/etc/postfix-out",
      multi_instance_name: "postfix-out",
    });
    expect(cleanEnv({ A: "1", B: "2" }, "A { C = x y }")).toEqual({ A: "1", C: "x y" });
    expect(splitList("a, b,{c d},, e")).toEqual(["a", "b", "c d", "e"]);
  });
});

describe("-l output", () => {
  const [p0, out] = loaded as [Instance, Instance];
  it("uses postmulti's column layout", () => {
    expect(listLine(p0)).toBe("-               -               y         /etc/postfix\n");
    expect(listLine({ ...out, name: "postfix-a-very-long-name" })).toBe("postfix-a-very-long-name mta             y         /etc/postfix-out\n");
  });
  it("prints -j objects like Postfix >= 3.11", () => {
    expect(JSON.parse(listJsonLine(out))).toEqual({ name: "postfix-out", group: "mta", enabled: "y", config_directory: "/etc/postfix-out" });
    expect(listJsonLine(p0)).toBe('{"name": "-","group": "-","enabled": "y","config_directory": "/etc/postfix"}\n');
  });
});
