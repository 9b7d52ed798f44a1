// Kubernetes' naming rules (k8s.io/apimachinery/pkg/util/validation), for the names and labels Serin
// derives from a Canary. The apiserver enforces them with a 422 on create; checking them up front turns
// "creation fails forever" into one InvalidSpec message that names the field and the fix.

export const DNS1035_LABEL_MAX = 63;
export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;
/** A Service port name used as targetPort refers to a container port name: an IANA service name. */
export const IANA_SVC_NAME_MAX = 15;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A rule of the common shape: a length limit, then a pattern; the check returns why a name fails, or undefined. */
function lengthAndPattern(max: number, pattern: RegExp, shape: string): (name: string) => string | undefined {
  return (name) => {
    if (name.length > max) return `${name.length} characters, more than the ${max} allowed`;
    return pattern.test(name) ? undefined : shape;
  };
}

/** Why `name` is not a DNS-1035 label (Service names), or undefined. */
export const dns1035LabelProblem = lengthAndPattern(
  DNS1035_LABEL_MAX,
  DNS1035_LABEL,
  "it must consist of lowercase letters, digits and '-', start with a letter and end with a letter or digit",
);

/** Why `name` is not a DNS-1123 label (port names), or undefined. */
export const dns1123LabelProblem = lengthAndPattern(
  DNS1123_LABEL_MAX,
  DNS1123_LABEL,
  "it must consist of lowercase letters, digits and '-', and start and end with a letter or digit",
);

/** Why `name` is not a DNS-1123 subdomain (Deployments, ConfigMaps, Secrets, HPAs, Istio objects), or undefined. */
export const dns1123SubdomainProblem = lengthAndPattern(
  DNS1123_SUBDOMAIN_MAX,
  DNS1123_SUBDOMAIN,
  "it must consist of lowercase letters, digits, '-' and '.', and start and end with a letter or digit",
);

/** Why `value` is not a valid label value, or undefined. */
export const labelValueProblem = lengthAndPattern(
  LABEL_VALUE_MAX,
  LABEL_VALUE,
  "it must be empty or consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit",
);

/** Why `key` is not a valid label or annotation key ([prefix/]name), or undefined. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    const why = prefix === "" ? "the prefix before '/' is empty" : dns1123SubdomainProblem(prefix);
    if (why) return `its prefix ${JSON.stringify(prefix)} is not a DNS subdomain: ${why}`;
  }
  if (name.length === 0) return "the name part is empty";
  if (name.length > 63) return `the name part has ${name.length} characters, more than the 63 allowed`;
  if (!QUALIFIED_NAME_PART.test(name))
    return "the name part must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit";
  return undefined;
}

const ianaShapeProblem = lengthAndPattern(
  IANA_SVC_NAME_MAX,
  IANA_SVC_NAME,
  "it must consist of lowercase letters, digits and '-', and start and end with a letter or digit",
);

/** Why `name` is not an IANA service name (a named container port), or undefined. */
export function ianaServiceNameProblem(name: string): string | undefined {
  const why = ianaShapeProblem(name);
  if (why) return why;
  if (name.includes("--")) return "it must not contain '--'";
  if (!/[a-z]/.test(name)) return "it must contain at least one letter";
  return undefined;
}
