import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { hostKeyTypeAndBlob, knownHostsName, renderInventory, renderKnownHosts, type LabHost } from "../../../src/lab/lab-inventory.js";

const host = (name: string, port: number): LabHost => ({
  name,
  address: "127.0.0.1",
  port,
  internalAddress: "172.17.0.2",
  hostKey: `ssh-ed25519 AAAAC3Nza${name} root@${name}`,
  containerId: `id-${name}`,
});

describe("lab known_hosts and inventory", () => {
  it("writes OpenSSH [host]:port names for non-default ports", () => {
    expect(knownHostsName("127.0.0.1", 22)).toBe("127.0.0.1");
    expect(knownHostsName("127.0.0.1", 32768)).toBe("[127.0.0.1]:32768");
  });

  it("drops the comment of a host key line and rejects garbage", () => {
    expect(hostKeyTypeAndBlob("ssh-ed25519 AAAA root@x\n")).toBe("ssh-ed25519 AAAA");
    expect(() => hostKeyTypeAndBlob("garbage")).toThrow(/not an OpenSSH public key/);
  });

  it("renders one known_hosts line per host", () => {
    expect(renderKnownHosts([host("a", 2201), host("b", 2202)])).toBe(
      "[127.0.0.1]:2201 ssh-ed25519 AAAAC3Nzaa\n[127.0.0.1]:2202 ssh-ed25519 AAAAC3Nzab\n",
    );
  });

  it("renders an Ansible-shaped YAML inventory", () => {
    const doc = parse(
      renderInventory([host("mta01", 2201), host("mta02", 2202)], {
        user: "root",
        privateKeyPath: "/k/id",
        knownHostsPath: "/k/kh",
      }),
    );
    expect(doc.all.vars.ansible_user).toBe("root");
    expect(doc.all.vars.ansible_ssh_private_key_file).toBe("/k/id");
    expect(doc.all.children.mta.hosts).toEqual({
      mta01: { ansible_host: "127.0.0.1", ansible_port: 2201 },
      mta02: { ansible_host: "127.0.0.1", ansible_port: 2202 },
    });
  });
});
