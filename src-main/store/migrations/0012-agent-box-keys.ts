// The X25519 public key an agent makes at enrollment (raw, base64url): secret script parameters are sealed to it.
// Agents enrolled before have none, and the console refuses secret parameters for their devices.
export const sql = `
ALTER TABLE agents ADD COLUMN box_public_key TEXT CHECK (box_public_key IS NULL OR length(box_public_key) = 43);
`;
