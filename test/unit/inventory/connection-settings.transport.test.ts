// postfleet_transport / --transport and the ssh arguments Ansible passes to ssh
// (ansible_ssh_common_args, ansible_ssh_extra_args), as the openssh transport gets them.
import { describe, expect, it } from "vitest";
import { InventoryError, resolveConnectionTarget, type VarReader } from "../../../src/inventory/index.js";

/** A host's variables, without templating or files. */
const vars =
  (v: Record<string, unknown>): VarReader =>
  (...names) => {
    const name = names.find((n) => n in v);
    return name === undefined ? undefined : { name, value: v[name] };
  };

describe("transport settings", () => {
  it("postfleet_transport wins over --transport; neither: unset (ssh2)", () => {
    expect(resolveConnectionTarget("mx1", vars({ postfleet_transport: "openssh" }), { transport: "ssh2" }).transport).toBe("openssh");
    expect(resolveConnectionTarget("mx1", vars({ postfleet_transport: "ssh2" }), { transport: "openssh" }).transport).toBe("ssh2");
    expect(resolveConnectionTarget("mx1", vars({}), { transport: "openssh" }).transport).toBe("openssh");
    expect(resolveConnectionTarget("mx1", vars({})).transport).toBeUndefined();
  });

  it("an unknown transport is an inventory error naming the host and variable", () => {
    expect(() => resolveConnectionTarget("mx1", vars({ postfleet_transport: "paramiko" }))).toThrow(InventoryError);
    expect(() => resolveConnectionTarget("mx1", vars({ postfleet_transport: "paramiko" }))).toThrow("host mx1: variable postfleet_transport must be auto, ssh2 or openssh");
  });

  it("ansible_ssh_common_args then ansible_ssh_extra_args, split into words as a shell would, never run by one", () => {
    const t = resolveConnectionTarget(
      "mx1",
      vars({
        ansible_ssh_common_args: `-o ProxyCommand="ssh -W %h:%p bastion" -o 'User=a b'`,
        ansible_ssh_extra_args: `-o ServerAliveInterval=5 -o "SendEnv=X\\"Y" $(reboot);`,
      }),
    );
    expect(t.sshArgs).toEqual(["-o", "ProxyCommand=ssh -W %h:%p bastion", "-o", "User=a b", "-o", "ServerAliveInterval=5", "-o", 'SendEnv=X"Y', "$(reboot);"]);
    expect(resolveConnectionTarget("mx1", vars({})).sshArgs).toBeUndefined();
  });

  it("ssh args are split as Ansible's ssh connection does: `#` is no comment there, words stripped, empty ones dropped", () => {
    // Python: [x.strip() for x in shlex.split(s) if x.strip()]
    const t = resolveConnectionTarget("mx1", vars({ ansible_ssh_common_args: `-o IdentityFile=/keys/#1 -o 'User= a ' "" -o Port=22 # not a comment` }));
    expect(t.sshArgs).toEqual(["-o", "IdentityFile=/keys/#1", "-o", "User= a", "-o", "Port=22", "#", "not", "a", "comment"]);
  });

  it("ssh args a shell could not split are an inventory error", () => {
    expect(() => resolveConnectionTarget("mx1", vars({ ansible_ssh_extra_args: `-o "ProxyCommand=x` }))).toThrow(
      "host mx1: variable ansible_ssh_extra_args cannot be split into words: No closing quotation",
    );
  });
});
