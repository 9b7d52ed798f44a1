// One way to put a test-world HTTP server on a loopback port: the port it got (0 = the OS picks), or
// the listen error (EADDRINUSE) as a rejection instead of an unhandled 'error' event.
import type http from "node:http";

export function listenLoopback(server: http.Server, port = 0, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(address && typeof address === "object" ? address.port : port);
    });
  });
}
