// The agent hub looks for running commands whose lease ran out every second, and for queued ones past their validity
// every minute: without an index on status both read every command the install ever ran.
export const sql = `
CREATE INDEX device_commands_by_status ON device_commands(status, created_at);
`;
