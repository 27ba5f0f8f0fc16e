// ssh's command-line words as Ansible's ansible_ssh_common_args/extra_args give them: the
// ProxyJump among them (`-J x`, `-Jx`, `-o ProxyJump=x`, `-o "ProxyJump x"`), which both
// transports follow, apart from the rest, which only the system's ssh can. Shared by the
// inventory (which takes the ProxyJump) and the transport choice (which looks at the rest).

export interface SshArgsSplit {
  /** The first ProxyJump given, if any. */
  proxyJump: string | undefined;
  /** Every other word, in order. */
  others: string[];
}

export function splitProxyJump(words: readonly string[]): SshArgsSplit {
  let proxyJump: string | undefined;
  let found = false;
  const others: string[] = [];
  const take = (v: string | undefined) => {
    if (!found) proxyJump = v;
    found = true;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "-J") {
      take(words[++i]);
      continue;
    }
    if (w.startsWith("-J")) {
      take(w.slice(2));
      continue;
    }
    const opt = w === "-o" ? words[i + 1] : w.startsWith("-o") ? w.slice(2) : undefined;
    const m = opt === undefined ? null : /^ProxyJump\s*[= ]\s*(.+)$/i.exec(opt.trim());
    if (m) {
      take(m[1]!.trim());
      if (w === "-o") i++;
      continue;
    }
    others.push(w);
  }
  return { proxyJump, others };
}
