// Envoy (Istio's data plane) evaluates header, URI and query-parameter regexes with RE2. JavaScript's
// RegExp is a different language: it rejects valid RE2 ((?i), \p{Greek}, [[:alpha:]], (?P<name>..),
// \Q..\E) and accepts what RE2 refuses (lookaround, backreferences). So parse with re2js, a port of
// RE2's own parser: exactly what Envoy will accept passes, and nothing else.
import { RE2JS, RE2JSSyntaxException } from "re2js";

/** Why `re` is not a valid RE2 expression, or undefined when it is fine. */
export function re2Problem(re: string): string | undefined {
  try {
    RE2JS.compile(re);
    return undefined;
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) {
      const what = err.getDescription();
      const at = err.getPattern();
      // Name the two features people reach for most, so the fix is obvious.
      if (/^\(\?<?[=!]/.test(at ?? "")) return `lookaround is not supported (${what}: \`${at}\`)`;
      if (/^\\[1-9]/.test(at ?? "")) return `backreferences are not supported (${what}: \`${at}\`)`;
      return at ? `${what}: \`${at}\`` : what;
    }
    return err instanceof Error ? err.message : "syntax error";
  }
}
