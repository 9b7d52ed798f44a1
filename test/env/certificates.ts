import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Paths of the PKI a local control plane needs, generated with openssl for each run. */
export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function generatePki(dir: string): Pki {
  const p = (name: string) => join(dir, name);
  const pki: Pki = {
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    serverCert: p("apiserver.crt"),
    serverKey: p("apiserver.key"),
    adminCert: p("admin.crt"),
    adminKey: p("admin.key"),
    serviceAccountKey: p("sa.key"),
    serviceAccountPub: p("sa.pub"),
  };
  openssl(["genrsa", "-out", pki.caKey, "2048"]);
  openssl([
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-key",
    pki.caKey,
    "-subj",
    "/CN=serin-testenv-ca",
    "-days",
    "3",
    "-out",
    pki.caCert,
  ]);

  const serverExt = p("apiserver.ext");
  writeFileSync(
    serverExt,
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
      "",
    ].join("\n"),
  );
  signedCert(pki, "/CN=kube-apiserver", pki.serverKey, pki.serverCert, serverExt, dir);

  // system:masters bypasses RBAC: used by the control-plane components and the tests' admin client.
  // Serin itself runs as a ServiceAccount bound to deploy/'s ClusterRole, so its RBAC is exercised.
  const clientExt = p("client.ext");
  writeFileSync(
    clientExt,
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
  );
  signedCert(pki, "/O=system:masters/CN=serin-testenv-admin", pki.adminKey, pki.adminCert, clientExt, dir);

  openssl(["genrsa", "-out", pki.serviceAccountKey, "2048"]);
  openssl(["rsa", "-in", pki.serviceAccountKey, "-pubout", "-out", pki.serviceAccountPub]);
  return pki;
}

function signedCert(
  pki: Pki,
  subject: string,
  keyPath: string,
  certPath: string,
  extPath: string,
  dir: string,
): void {
  const csr = `${certPath}.csr`;
  openssl(["genrsa", "-out", keyPath, "2048"]);
  openssl(["req", "-new", "-key", keyPath, "-subj", subject, "-out", csr]);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    pki.caCert,
    "-CAkey",
    pki.caKey,
    "-CAcreateserial",
    "-CAserial",
    join(dir, "ca.srl"),
    "-out",
    certPath,
    "-days",
    "3",
    "-extfile",
    extPath,
  ]);
}
