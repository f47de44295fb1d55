export * from "./activations.js";
export * from "./assignments.js";
export * from "./audit.js";
export * from "./connector-log.js";
export * from "./outbox.js";
export * from "./principals.js";
export * from "./roles.js";
