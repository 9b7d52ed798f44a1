// npm run build's second step: dist/main.js (tsc's output) and everything it imports as one file,
// dist/serin.mjs, which is what the container image and the tests run (issue 10, "a memory diet").
//
// Why: Node keeps every loaded module's source text in the V8 heap, and @kubernetes/client-node's
// config.js imports its whole generated API (dist/gen: 21 MB of JavaScript, mostly doc comments, every
// API group and model). Bundled, only the APIs Serin uses remain and comments and whitespace go: 4 MB
// instead of ~30 MB of loaded source, and the controller starts at ~100 MB RSS instead of ~145 MB
// (docs/scale.md, "Memory"). Identifiers are kept (--keep-names, no renaming), so stack traces and
// error names read as in the sources; the source map is written beside it for debugging.
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
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) bundleSerin();
