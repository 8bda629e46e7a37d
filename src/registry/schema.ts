import { watchChanges } from '../store/postgres.ts'

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
  // Device models and platform identities: each identity belongs to one device.
  `ALTER TABLE devices ADD COLUMN model TEXT;
   ALTER TABLE devices ADD COLUMN dev_eui TEXT;
   ALTER TABLE devices ADD COLUMN imei TEXT;
   ALTER TABLE devices ADD COLUMN platform_device_id TEXT;
   CREATE UNIQUE INDEX devices_dev_eui ON devices(dev_eui) WHERE dev_eui IS NOT NULL;
   CREATE UNIQUE INDEX devices_imei ON devices(imei) WHERE imei IS NOT NULL;
   CREATE UNIQUE INDEX devices_platform_device_id ON devices(platform_device_id) WHERE platform_device_id IS NOT NULL;`,
  // The registry's cache reloads when another process or node changed the site tree or devices
  // (SQLite's data_version sees that by itself).
  { sqlite: '', postgres: watchChanges('sites', 'devices') },
] as const
