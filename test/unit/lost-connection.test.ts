import { expect, it } from "vitest";
import { isWriteOnLostDatabaseConnection } from "../../src/db/lost-connection.js";

const socketError = (code: string, syscall: string, frame: string) =>
  Object.assign(new Error(`${syscall} ${code}`), {
    code,
    syscall,
    stack: `Error: ${syscall} ${code}\n    at afterWriteDispatched (node:internal/stream_base_commons:161:15)\n    at ${frame}`,
  });

it("recognises only the driver's write on a connection the server closed", () => {
  const driver = "Immediate.nextWrite (/app/node_modules/postgres/src/connection.js:255:22)";
  expect(isWriteOnLostDatabaseConnection(socketError("EPIPE", "write", driver))).toBe(true);
  expect(isWriteOnLostDatabaseConnection(socketError("ECONNRESET", "write", driver))).toBe(true);
  expect(isWriteOnLostDatabaseConnection(socketError("EPIPE", "read", driver))).toBe(false);
  expect(
    isWriteOnLostDatabaseConnection(socketError("EPIPE", "write", "Socket.write (/app/src/http/server.js:1:1)")),
  ).toBe(false);
  expect(isWriteOnLostDatabaseConnection(new TypeError("x is not a function"))).toBe(false);
  expect(isWriteOnLostDatabaseConnection(undefined)).toBe(false);
});
