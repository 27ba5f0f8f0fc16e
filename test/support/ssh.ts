// A minimal ssh2 exec for tests that prove the lab itself, with strict
// host-key checking against the key the test expects.
import { readFileSync } from "node:fs";
import { Client } from "ssh2";
import { hostKeyTypeAndBlob } from "../../src/lab/lab-inventory.js";

export interface SshTarget {
  address: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** The expected host key line ("ssh-ed25519 AAAA..."). */
  hostKey: string;
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export function connect(t: SshTarget): Promise<Client> {
  const expected = Buffer.from(hostKeyTypeAndBlob(t.hostKey).split(" ")[1] ?? "", "base64");
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once("ready", () => resolve(c));
    c.once("error", reject);
    c.connect({
      host: t.address,
      port: t.port,
      username: t.user,
      privateKey: readFileSync(t.privateKeyPath),
      hostVerifier: (key: Buffer) => key.equals(expected),
      readyTimeout: 15_000,
    });
  });
}

export function exec(c: Client, command: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = "";
      let stderr = "";
      stream.on("data", (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      stream.on("close", (code: number | null) => resolve({ exitCode: code, stdout, stderr }));
    });
  });
}
