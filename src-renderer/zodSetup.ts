// Zod's JIT probes `new Function`, which the console's CSP (no 'unsafe-eval') reports as a violation: parse without it.
import { z } from 'zod';

z.config({ jitless: true });
