// A technician account's name, one schema for the console's contract (shared with the renderer: zod only here) and for
// the account service, so that a name the service refuses is refused at the boundary with the same clear reason.
import { z } from 'zod';

export const TechnicianName = z.string().trim().min(1).max(100).regex(/^[\p{L}\p{N} ._@-]+$/u, 'letters, digits, space, . _ @ -');
