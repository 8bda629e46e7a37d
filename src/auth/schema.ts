/**
 * Tables owned by auth. The `users` table itself belongs to the registry (the estate file fills it);
 * auth adds the crew team a user works for, and the sessions (only the SHA-256 of each token is stored).
 */
export const AUTH_MIGRATIONS = [
  `ALTER TABLE users ADD COLUMN team TEXT;
   CREATE TABLE sessions (
     token_sha256 TEXT PRIMARY KEY,
     username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX sessions_user ON sessions(username);
   CREATE INDEX sessions_expiry ON sessions(expires_at);`,
] as const
