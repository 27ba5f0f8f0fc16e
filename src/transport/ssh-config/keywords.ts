// Every keyword OpenSSH 9.2p1's ssh accepts in ssh_config, as built by Debian 12
// (openssh-client 1:9.2p1-2+deb12u*, whose `ssh -G` is postfleet's oracle): the
// keyword table of readconf.c at tag V_9_2_P1, plus what Debian's patches add
// (GSSAPI key exchange: GSSAPIClientIdentity, GSSAPIKexAlgorithms,
// GSSAPIKeyExchange, GSSAPIRenewalForcesRekey, GSSAPIServerIdentity,
// GSSAPITrustDns; keepalive extensions: ProtocolKeepAlives, SetupTimeOut;
// UseBlacklistedKeys, deprecated). Deprecated ones (ssh notes them at debug
// level: Cipher, UseRoaming...), unsupported ones (ssh says "Unsupported
// option" and goes on: RSAAuthentication...) and Protocol (silently ignored)
// are accepted too. Candidates were the table's names and every lowercase run
// (and suffix) in `strings /usr/bin/ssh`; each was kept only if `ssh -G`
// accepted it (test/unit/transport/ssh-config/keywords.test.ts checks the list
// against ssh -G again). Spelled as ssh_config(5) spells them; ssh compares
// them lowercased.
export const SSH_CONFIG_KEYWORDS: readonly string[] = [
  "AddKeysToAgent", "AddressFamily", "AFSTokenPassing", "BatchMode", "BindAddress", "BindInterface",
  "CanonicalDomains", "CanonicalizeFallbackLocal", "CanonicalizeHostname", "CanonicalizeMaxDots",
  "CanonicalizePermittedCNAMEs", "CASignatureAlgorithms", "CertificateFile", "ChallengeResponseAuthentication",
  "CheckHostIP", "Cipher", "Ciphers", "ClearAllForwardings", "Compression", "CompressionLevel",
  "ConnectionAttempts", "ConnectTimeout", "ControlMaster", "ControlPath", "ControlPersist",
  "DSAAuthentication", "DynamicForward", "EnableEscapeCommandline", "EnableSSHKeysign", "EscapeChar",
  "ExitOnForwardFailure", "FallBackToRsh", "FingerprintHash", "ForkAfterAuthentication", "ForwardAgent",
  "ForwardX11", "ForwardX11Timeout", "ForwardX11Trusted", "GatewayPorts", "GlobalKnownHostsFile",
  "GlobalKnownHostsFile2", "GSSAPIAuthentication", "GSSAPIClientIdentity", "GSSAPIDelegateCredentials",
  "GSSAPIKexAlgorithms", "GSSAPIKeyExchange", "GSSAPIRenewalForcesRekey", "GSSAPIServerIdentity",
  "GSSAPITrustDns", "HashKnownHosts", "Host", "HostbasedAcceptedAlgorithms", "HostbasedAuthentication",
  "HostbasedKeyTypes", "HostKeyAlgorithms", "HostKeyAlias", "HostName", "IdentitiesOnly", "IdentityAgent",
  "IdentityFile", "IdentityFile2", "IgnoreUnknown", "Include", "IPQoS", "KbdInteractiveAuthentication",
  "KbdInteractiveDevices", "KeepAlive", "KerberosAuthentication", "KerberosTGTPassing", "KexAlgorithms",
  "KnownHostsCommand", "LocalCommand", "LocalForward", "LogLevel", "LogVerbose", "MACs", "Match",
  "NoHostAuthenticationForLocalhost", "NumberOfPasswordPrompts", "PasswordAuthentication",
  "PermitLocalCommand", "PermitRemoteOpen", "PKCS11Provider", "Port", "PreferredAuthentications", "Protocol",
  "ProtocolKeepAlives", "ProxyCommand", "ProxyJump", "ProxyUseFdpass", "PubkeyAcceptedAlgorithms",
  "PubkeyAcceptedKeyTypes", "PubkeyAuthentication", "RekeyLimit", "RemoteCommand", "RemoteForward",
  "RequestTTY", "RequiredRSASize", "RevokedHostKeys", "RhostsAuthentication", "RhostsRSAAuthentication",
  "RSAAuthentication", "SecurityKeyProvider", "SendEnv", "ServerAliveCountMax", "ServerAliveInterval",
  "SessionType", "SetEnv", "SetupTimeOut", "SKeyAuthentication", "SmartcardDevice", "StdinNull",
  "StreamLocalBindMask", "StreamLocalBindUnlink", "StrictHostKeyChecking", "SyslogFacility", "TCPKeepAlive",
  "TISAuthentication", "Tunnel", "TunnelDevice", "UpdateHostKeys", "UseBlacklistedKeys", "UsePrivilegedPort",
  "User", "UserKnownHostsFile", "UserKnownHostsFile2", "UseRoaming", "UseRsh", "VerifyHostKeyDNS",
  "VisualHostKey", "XAuthLocation",
];

const BY_LOWERCASE = new Map(SSH_CONFIG_KEYWORDS.map((k) => [k.toLowerCase(), k]));

/** Whether ssh knows this keyword (any case). */
export function isSshConfigKeyword(keyword: string): boolean {
  return BY_LOWERCASE.has(keyword.toLowerCase());
}

/** The known keyword closest to a misspelt one (at most two edits, a swap counting as one), for the refusal message. */
export function closestSshConfigKeyword(keyword: string): string | undefined {
  const k = keyword.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const [lower, name] of BY_LOWERCASE) {
    const d = editDistance(k, lower, bestDistance);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance (insert, delete, substitute, swap of neighbours); gives up past `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * Keywords ssh 9.2 refuses but other clients accept: later OpenSSH releases
 * (the first release whose readconf.c has them, up to 10.5) and Apple's ssh.
 * A config written for those is refused with this hint rather than a guess.
 */
const ELSEWHERE: Record<string, string> = {
  tag: "OpenSSH 9.4 and later",
  obscurekeystroketiming: "OpenSSH 9.5 and later",
  channeltimeout: "OpenSSH 9.6 and later",
  versionaddendum: "OpenSSH 10.0 and later",
  refuseconnection: "OpenSSH 10.1 and later",
  warnweakcrypto: "OpenSSH 10.1 and later",
  usekeychain: "Apple's ssh on macOS",
};

/** Which other ssh knows this keyword, when it is one ssh 9.2 does not know. */
export function sshConfigKeywordElsewhere(keyword: string): string | undefined {
  return ELSEWHERE[keyword.toLowerCase()];
}
