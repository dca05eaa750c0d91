import { filterConformance, parserConformance, rewriteConformance } from "../conformance/suites.ts";
import { csvParser } from "../../parsers/csv.ts";
import { dateParser } from "../../parsers/date.ts";
import { filters } from "../../parsers/filters.ts";
import { jsonParser } from "../../parsers/json.ts";
import { kvParser } from "../../parsers/kv.ts";
import { regexpParser } from "../../parsers/regexp.ts";
import { rewrites } from "../../parsers/rewrites.ts";
import { sshdParser } from "../../parsers/sshd.ts";

parserConformance("json", () => jsonParser({ prefix: "" }));
parserConformance("kv", () => kvParser({ prefix: "" }));
parserConformance("csv", () => csvParser({ columns: ["a", "b"], prefix: "" }));
parserConformance("regexp", () => regexpParser("(?<w>\\w+)"));
parserConformance("sshd", () => sshdParser());
parserConformance("date", () => dateParser({ formats: ["iso8601", "rfc3164", "epoch"] }));

filterConformance("match", () => filters.match("a|b"));
filterConformance("program", () => filters.program("sshd"));
filterConformance("host", () => filters.host("vm-*", { type: "glob" }));
filterConformance("level", () => filters.level("warning..emerg"));
filterConformance("facility", () => filters.facility(["auth", "authpriv"]));
filterConformance("netmask", () => filters.netmask(["10.0.0.0/8", "::/0"]));
filterConformance("inList", () => filters.inList("HOST", ["vm-1"]));
filterConformance(
  "and/or/not",
  () =>
    filters.and(
      filters.or(filters.level(3), (e) => e.message === ""),
      filters.not(filters.host("x")),
    ),
);

rewriteConformance("set", () => rewrites.set("a.b", "${HOST}-${MSG}"));
rewriteConformance("unset", () => rewrites.unset(["a", "HOST"]));
rewriteConformance("rename", () => rewrites.rename("MSG", "raw"));
rewriteConformance("subst", () => rewrites.subst("[aeiou]", "_", { global: true }));
rewriteConformance("setHost", () => rewrites.setHost("${HOST:-none}"));
rewriteConformance("groupSet", () => rewrites.groupSet("*", "<$_>"));
