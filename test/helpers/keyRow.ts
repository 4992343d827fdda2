// A change to an API key's row that the product makes by other means (time passing its expiry) or not at all (a tenant
// taken from a key), made in SQL and re-bound with the install secret: the key as it would legitimately be, not a row
// someone tampered with (test/auth/apiKeyBinding.test.ts covers those).
import type { App } from '../../src-main/app.ts';
import { sealApiKey } from '../../src-main/auth/credentialBinding.ts';
import { bindingKey } from '../../src-main/governance/binding.ts';

export async function changeKeyRow(app: App, keyId: string, sql: string, params: unknown[]): Promise<void> {
  await app.store.write(async (tx) => {
    await tx.sql.run(sql, params);
    await sealApiKey(bindingKey(app.secrets.hmacKey), tx.sql, keyId);
  });
}
