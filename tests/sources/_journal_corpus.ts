/**
 * `journalctl -o json` lines shaped like real ones (30-odd fields, 1–2 KB,
 * in a different order per entry) with the unusual among them: escapes,
 * unicode, a message given as an array of bytes, repeated fields, missing
 * fields, huge fields, text crafted to look like JSON.
 *
 * @module
 */

/** A cursor of seqnum `i` in journal `seqnumId`. */
function cursor(i: number, seqnumId = "e456339cddf641d7acadd015abe2c844"): string {
  return `s=${seqnumId};i=${i.toString(16)};b=0123456789abcdef0123456789abcdef;m=${
    (1_000_000 + i).toString(16)
  };t=${(1_700_000_000_000_000 + i * 1000).toString(16)};x=${(i * 2654435761 >>> 0).toString(16)}`;
}

const HOSTILE = [
  'quote " and backslash \\ and \\" together',
  "ends with a backslash \\",
  "\\\\",
  "\x1b[31mred\x1b[0m and \u0000 NUL, \n newline, \t tab, \r return",
  "unicode é ☃ 𝄞 and a lone \ud800 surrogate",
  '","MESSAGE":"injected","_HOSTNAME":"evil","X":"',
  "}",
  "",
  "\u2028 line separator \u2029 and \ufffd replacement",
  "日本語のメッセージ",
];

/** The fields of a real sshd entry through the journal's syslog transport. */
function real(i: number): Array<[string, unknown]> {
  const fail = i % 3 === 0;
  return [
    ["__CURSOR", cursor(i)],
    ["__REALTIME_TIMESTAMP", String(1_700_000_000_000_000 + i * 1000)],
    ["__MONOTONIC_TIMESTAMP", String(1_000_000 + i)],
    ["__SEQNUM", String(i)],
    ["__SEQNUM_ID", "e456339cddf641d7acadd015abe2c844"],
    ["_BOOT_ID", "0123456789abcdef0123456789abcdef"],
    ["_MACHINE_ID", "fedcba9876543210fedcba9876543210"],
    ["_HOSTNAME", "web-01.example.internal"],
    ["_TRANSPORT", "syslog"],
    ["PRIORITY", fail ? "5" : "6"],
    ["SYSLOG_FACILITY", "4"],
    ["SYSLOG_IDENTIFIER", "sshd"],
    ["SYSLOG_PID", String(4000 + i % 30000)],
    ["SYSLOG_TIMESTAMP", "Nov 14 22:13:20 "],
    [
      "MESSAGE",
      fail
        ? `Failed password for invalid user admin${i % 7} from 203.0.113.${i % 250} port ${
          40000 + i % 20000
        } ssh2`
        : `Accepted publickey for deploy from 10.0.0.${i % 250} port 22 ssh2: ED25519 SHA256:${
          "k".repeat(43)
        }`,
    ],
    ["_PID", String(4000 + i % 30000)],
    ["_UID", "0"],
    ["_GID", "0"],
    ["_COMM", "sshd"],
    ["_EXE", "/usr/sbin/sshd"],
    ["_CMDLINE", `sshd: deploy [priv]`],
    ["_CAP_EFFECTIVE", "1ffffffffff"],
    ["_SELINUX_CONTEXT", "unconfined\n"],
    ["_AUDIT_SESSION", String(100 + i % 50)],
    ["_AUDIT_LOGINUID", "1000"],
    ["_SYSTEMD_CGROUP", "/system.slice/ssh.service"],
    ["_SYSTEMD_UNIT", "ssh.service"],
    ["_SYSTEMD_SLICE", "system.slice"],
    ["_SYSTEMD_INVOCATION_ID", "89abcdef0123456789abcdef01234567"],
    ["_SOURCE_REALTIME_TIMESTAMP", String(1_700_000_000_000_000 + i * 1000 - 7)],
    ["_RUNTIME_SCOPE", "system"],
    ["CODE_FILE", "../src/sshd/auth.c"],
    ["CODE_LINE", String(300 + i % 40)],
    ["CODE_FUNC", "auth_log"],
  ];
}

/** Entry `i`'s odd change, if it has one. */
function odd(i: number, f: Array<[string, unknown]>): void {
  const set = (key: string, value: unknown) => {
    const at = f.findIndex(([k]) => k === key);
    if (at >= 0) f[at] = [key, value];
    else f.push([key, value]);
  };
  const drop = (key: string) => {
    const at = f.findIndex(([k]) => k === key);
    if (at >= 0) f.splice(at, 1);
  };
  switch (i % 23) {
    case 1:
      return set("MESSAGE", HOSTILE[i % HOSTILE.length]);
    case 2:
      // Not UTF-8: journalctl gives the bytes.
      return set("MESSAGE", [104, 105, 255, 0, 10, 195]);
    case 3:
      return set("MESSAGE", Array.from(new TextEncoder().encode("bytes but UTF-8 é")));
    case 4:
      // A field given twice: journalctl gives the values as an array.
      return set("_SYSTEMD_UNIT", ["ssh.service", "other.service"]);
    case 5:
      for (const k of ["_HOSTNAME", "SYSLOG_IDENTIFIER", "_PID", "PRIORITY"]) drop(k);
      return;
    case 6:
      for (const k of ["_SOURCE_REALTIME_TIMESTAMP", "SYSLOG_FACILITY", "MESSAGE"]) drop(k);
      return set("PRIORITY", "9");
    case 7:
      return set("MESSAGE", `huge ${"x".repeat(70_000 + i % 5)} end`);
    case 8:
      return set("CUSTOM_FIELD", HOSTILE[(i >> 1) % HOSTILE.length]);
    case 9:
      return set("MESSAGE", "emoji 😀 and combining e\u0301 and RTL \u202e");
    case 10:
      return set("PRIORITY", "");
    case 11:
      return set("_SOURCE_REALTIME_TIMESTAMP", "not a number");
    case 12:
      return set("MESSAGE", null);
    case 13:
      return set("MESSAGE", 42);
    case 14:
      return drop("__CURSOR");
    case 15:
      return set("__CURSOR", "not a journal cursor");
    case 16:
      return set("SYSLOG_IDENTIFIER", "");
    case 17:
      return set("CODE_LINE", "\\u0041\\n");
  }
}

/**
 * Corpus line `i`, in journalctl's order for that entry (a shuffle of its own).
 *
 * @param i The entry's number.
 * @param plain Only entries as the bench writes them (no odd ones).
 * @returns The line (no newline).
 */
export function corpusLine(i: number, plain = false): string {
  const f = real(i);
  if (!plain) odd(i, f);
  for (let j = f.length - 1; j > 0; j--) {
    const k = (i * 31 + j * 17 + (i >> 3)) % (j + 1);
    [f[j], f[k]] = [f[k] as [string, unknown], f[j] as [string, unknown]];
  }
  return JSON.stringify(Object.fromEntries(f));
}

/**
 * Lines that are not what journalctl writes, as a stream could still carry
 * them.
 *
 * @returns The lines (no newlines).
 */
export function oddLines(): string[] {
  const c = cursor(1);
  return [
    "",
    "not json",
    "{}",
    "[]",
    `{"__CURSOR":"${c}","MESSAGE":"dup","MESSAGE":"again"}`,
    `{"__CURSOR":"${c}","__proto__":"x","MESSAGE":"proto"}`,
    `{"__CURSOR":"${c}","lower":"x"}`,
    ` {"__CURSOR":"${c}","MESSAGE":"space"}`,
    `{"__CURSOR":"${c}","MESSAGE":"trailing"}x}`,
    `{"__CURSOR":"${c}","MESSAGE":"bad \\q escape"}`,
    `{"__CURSOR":"${c}","MESSAGE":"unterminated}`,
    `{"__CURSOR":"${c}", "MESSAGE":"space after comma"}`,
    `{"__CURSOR":"${c}","MESSAGE":"cr"}\r`,
    `{"__CURSOR":"${c}","A\\u0042":"escaped key"}`,
    `{"__CURSOR":"${c}","":"empty key"}`,
    `{"__CURSOR":"${c}","MESSAGE":"x",}`,
    `{"__CURSOR":"${c}","MESSAGE":"x"`,
    `{"__CURSOR":"${c}","MESSAGE":"x"}}`,
  ];
}
