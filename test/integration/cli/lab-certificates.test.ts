// `postfleet lab up N --certificates`: the lab's hosts present host certificates from a lab
// host CA and trust a lab user CA; the command prints the @cert-authority line and an
// inventory that reaches the hosts through the certificates alone (strict checking, the
// openssh transport). The same inventory with ssh2 is refused with the reason and the way out.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { jsonOf, postfleet } from "../../support/cli.js";

describe("postfleet lab up --certificates", { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-labcert-"));
  const env = { HOME: join(dir, "home"), SSH_AUTH_SOCK: "" };
  afterAll(async () => {
    await postfleet(["lab", "down", "--dir", dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints the CA line and an inventory through the certificates; openssh reaches the host strictly, ssh2 is refused saying why", async () => {
    const up = await postfleet(["lab", "up", "1", "--certificates", "--dir", dir]);
    expect(up.exitCode, up.stderr).toBe(0);
    const caFile = join(dir, "known_hosts_ca");
    const caLine = readFileSync(caFile, "utf8").trim();
    expect(caLine).toMatch(/^@cert-authority \* ssh-ed25519 \S+ postfleet-lab host_ca$/);
    expect(up.stdout).toContain(`known_hosts with only the CA: ${caFile}\n    ${caLine}\n`);
    const inventory = join(dir, "inventory-certificates.yml");
    expect(up.stdout).toContain(`postfleet -i ${inventory} ping`);
    const text = readFileSync(inventory, "utf8");
    expect(text).toContain(`postfleet_known_hosts_file: ${caFile}\n`);
    expect(text).toMatch(/postfleet_transport: openssh\n/);
    // The host really presents a certificate signed by that CA.
    const port = /^mta01\s+127\.0\.0\.1:(\d+)$/m.exec(up.stdout)![1]!;
    expect(execFileSync("ssh-keyscan", ["-c", "-t", "ed25519", "-p", port, "127.0.0.1"], { encoding: "utf8" })).toMatch(/ssh-ed25519-cert-v01@openssh\.com /);

    const ping = await postfleet(["-i", inventory, "--json", "ping"], { env });
    expect(ping.exitCode, ping.stderr).toBe(0);
    expect(jsonOf(ping).hosts.map((h: any) => h.status)).toEqual(["ok"]);

    const ssh2Inventory = join(dir, "ssh2.yml");
    writeFileSync(ssh2Inventory, text.replace("postfleet_transport: openssh", "postfleet_transport: ssh2"));
    const refused = await postfleet(["-i", ssh2Inventory, "--json", "ping"], { env });
    expect(refused.exitCode).toBe(2);
    expect(jsonOf(refused).hosts[0].error).toMatch(
      /only an @cert-authority line vouches for .*cannot negotiate certificate host keys.*or use the openssh transport, which checks the certificate \(ssh2 was set for this host: postfleet_transport or --transport auto, the default, chooses openssh for such a host\)$/,
    );
    // No transport set (auto, the default): postfleet chooses openssh for the host, and says why in the timings.
    const autoInventory = join(dir, "auto.yml");
    writeFileSync(autoInventory, text.replace(/^.*postfleet_transport: openssh\n/m, ""));
    const auto = await postfleet(["-i", autoInventory, "--json", "ping"], { env });
    expect(auto.exitCode, auto.stderr).toBe(0);
    expect(jsonOf(auto).hosts[0].timings).toMatchObject({ transport: "openssh", transportBecause: expect.stringMatching(/^only an @cert-authority line vouches for /) });
  });
});
