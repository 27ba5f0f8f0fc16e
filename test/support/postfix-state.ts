// What a lab host's Postfix looks like, for comparing before and after a run:
// every instance's main.cf settings and master.cf services as postconf prints
// them, postmulti's listing, and the file trees (path, mode, owner, size,
// mtime) of every instance's configuration, queue and data directories.
import type { TestLabHost } from "./lab.js";

const SNAPSHOT = `set -e
postmulti -l 2>&1 || true
for d in /etc/postfix*; do
  [ -f "$d/main.cf" ] || continue
  echo "== $d"; postconf -c "$d" -n; postconf -c "$d" -M; postconf -c "$d" -P 2>/dev/null || true
done
find /etc/postfix* /var/spool/postfix* /var/lib/postfix* -xdev -printf '%p %m %u %g %s %T@\\n' 2>/dev/null | sort
`;

export async function postfixState(host: TestLabHost): Promise<string> {
  const r = await host.exec(SNAPSHOT);
  if (r.exitCode !== 0) throw new Error(`snapshot of ${host.name} failed: ${r.stderr}`);
  return r.stdout;
}
