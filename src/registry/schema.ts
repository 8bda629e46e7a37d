/**
 * Tables owned by the registry: the site tree and devices. Stores made by earlier versions got auth's
 * `users` and `settings` from this step too; auth's own steps (CREATE TABLE IF NOT EXISTS) skip them there.
 */
export const REGISTRY_MIGRATIONS = [
  `CREATE TABLE sites (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL CHECK (type IN ('street','community','estate','building')),
     name TEXT NOT NULL,
     parent_id TEXT REFERENCES sites(id),
     source TEXT NOT NULL DEFAULT 'config'
   );
   CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     estate_id TEXT NOT NULL REFERENCES sites(id),
     building_id TEXT REFERENCES sites(id),
     name TEXT,
     location TEXT,
     secret_hash TEXT NOT NULL,
     params TEXT NOT NULL DEFAULT '{}',
     source TEXT NOT NULL DEFAULT 'api',
     created_at INTEGER NOT NULL
   );
   CREATE INDEX devices_estate ON devices(estate_id);`,
] as const
