// Child-process entry of the boot test: maps the bare specifier `electron` (import and require alike) to the
// recording stand-in through a synchronous module resolve hook, then imports the compiled main process.
// The real electron package is never loaded.
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

const standIn = new URL('./electron.ts', import.meta.url).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'electron') return { url: standIn, format: 'module-typescript', shortCircuit: true };
    return nextResolve(specifier, context);
  },
});

await import(pathToFileURL(process.argv[2]!).href);
