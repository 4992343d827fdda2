// Twin of store/migrations/0017-open-commands-index.ts.
export const sql = `
CREATE INDEX device_commands_by_status ON device_commands(status, created_at);
`;
