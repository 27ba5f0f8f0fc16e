// What an ssh-agent holds, asked once per socket and run: the transport
// choice needs to know whether it holds a user certificate (which ssh would
// present and ssh2 cannot). One SSH2_AGENTC_REQUEST_IDENTITIES round trip
// (draft-miller-ssh-agent, section 3.5); nothing is signed, no key leaves it.
import { connect } from "node:net";

const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
/** An agent that does not answer within this long is taken to hold nothing (ssh2 then tries it as before). */
const ANSWER_TIMEOUT_MS = 2_000;

export interface AgentIdentity {
  /** The key blob's type, e.g. "ssh-ed25519" or "ssh-ed25519-cert-v01@openssh.com". */
  type: string;
  comment: string;
}

/** The identities in an IDENTITIES_ANSWER message (without its length prefix); throws on a malformed one. */
export function parseIdentitiesAnswer(msg: Buffer): AgentIdentity[] {
  let pos = 0;
  const u32 = (): number => {
    if (pos + 4 > msg.length) throw new Error("truncated agent answer");
    const v = msg.readUInt32BE(pos);
    pos += 4;
    return v;
  };
  const str = (): Buffer => {
    const n = u32();
    if (pos + n > msg.length) throw new Error("truncated agent answer");
    const b = msg.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  if (msg[pos++] !== IDENTITIES_ANSWER) throw new Error(`agent answered message ${msg[0]}, not ${IDENTITIES_ANSWER}`);
  const count = u32();
  const out: AgentIdentity[] = [];
  for (let i = 0; i < count; i++) {
    const blob = str();
    const comment = str().toString("utf8");
    if (blob.length < 4) throw new Error("malformed key blob in agent answer");
    const n = blob.readUInt32BE(0);
    out.push({ type: blob.subarray(4, 4 + n).toString("latin1"), comment });
  }
  return out;
}

function askAgent(socket: string): Promise<AgentIdentity[]> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (ids: AgentIdentity[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolve(ids);
    };
    const conn = connect(socket);
    const timer = setTimeout(() => done([]), ANSWER_TIMEOUT_MS);
    conn.on("connect", () => conn.write(Buffer.from([0, 0, 0, 1, REQUEST_IDENTITIES])));
    conn.on("data", (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length < 4 || all.length < 4 + all.readUInt32BE(0)) return;
      try {
        done(parseIdentitiesAnswer(all.subarray(4, 4 + all.readUInt32BE(0))));
      } catch {
        done([]);
      }
    });
    conn.on("error", () => done([]));
    conn.on("close", () => done([]));
  });
}

const asked = new Map<string, Promise<AgentIdentity[]>>();

/** The identities the agent at `socket` holds (none when it cannot be reached), asked once per process. */
export function agentIdentities(socket: string): Promise<AgentIdentity[]> {
  let p = asked.get(socket);
  if (!p) asked.set(socket, (p = askAgent(socket)));
  return p;
}
