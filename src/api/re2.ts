// Envoy (Istio) and the Kubernetes apiserver evaluate regular expressions with RE2, which has no
// lookaround and no backreferences. JavaScript accepts both, so check explicitly.

/** Why `re` is not a usable RE2 expression, or undefined when it is fine. */
export function re2Problem(re: string): string | undefined {
  if (/\(\?<?[=!]/.test(re)) return "lookaround is not supported";
  if (/\\[1-9]/.test(re)) return "backreferences are not supported";
  try {
    new RegExp(re, "u");
  } catch (e) {
    return e instanceof Error ? e.message : "syntax error";
  }
  return undefined;
}
