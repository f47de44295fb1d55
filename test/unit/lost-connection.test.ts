import { expect, it } from "vitest";
import {
  isTypeQuestionOnLostConnection,
  isUnownedDriverRejection,
  isWriteOnLostDatabaseConnection,
} from "../../src/db/lost-connection.js";

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

it("recognises the driver's array-type question failed by its connection closing, and nothing else", () => {
  const question = `
      select b.oid, b.typarray
      from pg_catalog.pg_type a
      left join pg_catalog.pg_type b on b.oid = a.typelem
      where a.typcategory = 'A'
      group by b.oid, b.typarray
      order by b.oid
    `;
  const failed = (code: string, query: string) => Object.assign(new Error(`write ${code}`), { code, query });
  expect(isTypeQuestionOnLostConnection(failed("CONNECTION_CLOSED", question))).toBe(true);
  expect(isTypeQuestionOnLostConnection(failed("ECONNRESET", question))).toBe(true);
  expect(isTypeQuestionOnLostConnection(failed("57P01", question))).toBe(true);
  expect(isUnownedDriverRejection(failed("57P01", question))).toBe(true);
  // The same question failing for a reason of its own, or another statement losing its connection.
  expect(isTypeQuestionOnLostConnection(failed("42501", question))).toBe(false);
  expect(isTypeQuestionOnLostConnection(failed("CONNECTION_CLOSED", "select 1"))).toBe(false);
  expect(isUnownedDriverRejection(failed("CONNECTION_CLOSED", "select 1"))).toBe(false);
});
