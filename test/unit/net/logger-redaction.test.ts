// The logger keeps credentials out of log lines: censored fields, redacted strings and messages, and
// axios errors reduced to their code (their config holds the request's Authorization header).
import { Writable } from "node:stream";
import axios from "axios";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/observability/logger.js";
import { closedAddress } from "../metrics/fake-prometheus.js";

function capture() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger("info", dest), text: () => lines.join("") };
}

describe("logger redaction", () => {
  it("censors credential fields and redacts URLs and messages", () => {
    const { log, text } = capture();
    log.info(
      {
        metricsServer: "http://admin:s3cret-pw@prometheus:9090",
        headers: { Authorization: "Bearer tok-123456" },
        nested: { password: "pw-1", deeper: { token: "tok-2" } },
        "proxy-authorization": "Basic dXNlcjpwYXNz",
      },
      "querying http://u:s3cret-msg@host/?token=tok-3",
    );
    const out = text();
    for (const secret of ["s3cret-pw", "tok-123456", "pw-1", "tok-2", "dXNlcjpwYXNz", "s3cret-msg", "tok-3"])
      expect(out).not.toContain(secret);
    expect(out).toContain("prometheus:9090");
    expect(out).toContain("querying http://***@host/");
  });

  it("logs an axios error as its code, never its config or headers", async () => {
    const { log, text } = capture();
    const address = await closedAddress();
    const err: unknown = await axios
      .get(`${address}/`, { headers: { Authorization: "Bearer tok-axios-999" } })
      .catch((e: unknown) => e);
    log.warn({ err, error: err, other: err }, "failed");
    const out = text();
    expect(out).not.toContain("tok-axios-999");
    expect(out).toContain("ECONNREFUSED");
  });
});
