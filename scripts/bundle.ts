// npm run build's second step: dist/main.js (tsc's output) and everything it imports as one file,
// dist/serin.mjs, which is what the container image and the tests run (issue 10, "a memory diet").
//
// Why: Node keeps every loaded module's source text in the V8 heap, and @kubernetes/client-node's
// config.js imports its whole generated API (dist/gen: 21 MB of JavaScript, mostly doc comments, every
// API group and model). Bundled, only the APIs Serin uses remain and comments and whitespace go: 4 MB
// instead of ~30 MB of loaded source, and the controller starts at ~100 MB RSS instead of ~145 MB
// (docs/scale.md, "Memory"). Identifiers are kept (--keep-names, no renaming), so stack traces and
// error names read as in the sources; the source map is written beside it for debugging.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export const BUNDLE_PATH = join(root, "dist", "serin.mjs");

export function bundleSerin(): void {
  buildSync({
    entryPoints: [join(root, "dist", "main.js")],
    outfile: BUNDLE_PATH,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    sourcemap: "external",
    legalComments: "none",
    logLevel: "warning",
    // CommonJS dependencies (pino, prom-client, ...) call require(): give the ES module one.
    banner: {
      js: "import { createRequire as __serinRequire } from 'node:module'; const require = __serinRequire(import.meta.url);",
    },
  });
  requireAscii(BUNDLE_PATH);
}

/**
 * V8 keeps a script's source in the heap for its whole life, as one byte per character only when every
 * character is Latin-1: a single other character (a Greek mu in a regular expression literal, which
 * esbuild copies verbatim) doubles the bundle's 4 MB to 8 MB of heap. esbuild escapes non-ASCII
 * characters everywhere else, so a hit here names the source to fix (write the character as an escape).
 */
function requireAscii(path: string): void {
  const bytes = readFileSync(path);
  const at = bytes.findIndex((b) => b > 0x7f);
  if (at < 0) return;
  const context = bytes.subarray(Math.max(0, at - 80), at + 40).toString("utf8");
  throw new Error(
    `${path}: non-ASCII character at byte ${at}; V8 would hold the whole bundle as a two-byte string. ` +
      `Write it as an escape (\\uXXXX) in the source: ...${context}...`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) bundleSerin();
