/**
 * The `users` table. Stores made before auth owned it got it from the registry's first migration, with
 * these very columns: IF NOT EXISTS leaves such a store as it is (only this step is recorded).
 */
export const USERS_MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS users (
     username TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL,
     scope TEXT NOT NULL,
     source TEXT NOT NULL DEFAULT 'config',
     created_at INTEGER NOT NULL
   );`,
] as const

/**
 * Tables owned by auth, after `users` (USERS_MIGRATIONS): the crew team a user works for, and the
 * sessions (only the SHA-256 of each token is stored).
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
