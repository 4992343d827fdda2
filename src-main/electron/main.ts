// The desktop app's entry (package.json "main"). An ES module's static imports are all parsed and compiled before any
// of its code runs, so the compile cache is turned on here, by a module that imports nothing else of ours, and the
// app itself (desktop.ts and everything it imports) is loaded after it: every start but the first then loads V8's
// code from the cache instead of compiling the main process again. Same directory rules and switches as the command
// line (cli/compileCache.ts).
import '../cli/compileCache.ts';

await import('./desktop.ts');
