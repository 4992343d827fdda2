import { createInterface } from 'node:readline';
import { MIN_PASSPHRASE_LENGTH } from '../auth/passphrase.ts';
import { UsageError } from './args.ts';

/** The console passphrase: from COUNTERSIGN_ADMIN_PASSPHRASE, or asked on a terminal without echo. */
export async function obtainPassphrase(env: NodeJS.ProcessEnv): Promise<string> {
  const fromEnv = env.COUNTERSIGN_ADMIN_PASSPHRASE;
  const pass = fromEnv ?? (await ask());
  if (pass.length < MIN_PASSPHRASE_LENGTH) throw new UsageError(`the admin passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters`);
  return pass;
}

async function ask(): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError('set COUNTERSIGN_ADMIN_PASSPHRASE (no terminal to ask on)');
  const first = await hidden('Console admin passphrase: ');
  const second = await hidden('Repeat it: ');
  if (first !== second) throw new UsageError('the two passphrases differ');
  return first;
}

function hidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void };
    process.stderr.write(prompt);
    out._writeToOutput = () => {};
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
